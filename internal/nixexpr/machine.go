package nixexpr

import "github.com/dysnomia-go/dysnomia/internal/config"

// Machine is what "dysnomia containers generate-expr" describes, for Disnix
// to capture a machine's configuration.
type Machine struct {
	// Properties are the machine properties (DYSNOMIA_PROPERTIES);
	// HasProperties is false when there is no properties file.
	Properties    config.Properties
	HasProperties bool
	// Containers are the container files, in order, without their type.
	Containers []Container
}

// Container is one container file.
type Container struct {
	Name       string
	Properties config.Properties
}

// Expr is the machine in upstream's shape:
//
//	{
//	  properties = { hostname = "…"; supportedTypes = [ "…" ]; };
//	  containers = { <container> = { <key> = "…"; }; };
//	  system = "…";
//	}
//
// properties appears only when there is a properties file, and system only
// when the properties define it (Disnix reads it at the top level). Every
// scalar is a string and every array a list of strings.
func (m Machine) Expr() Attrs {
	var top Attrs
	if m.HasProperties {
		top = append(top, Attr{Name: "properties", Value: props(m.Properties)})
	}
	containers := Attrs{}
	for _, c := range m.Containers {
		containers = append(containers, Attr{Name: c.Name, Value: props(c.Properties)})
	}
	top = append(top, Attr{Name: "containers", Value: containers})
	if m.HasProperties {
		for _, p := range m.Properties {
			if p.Key == "system" {
				top = append(top, Attr{Name: "system", Value: PropertyValue(p)})
			}
		}
	}
	return top
}

func props(ps config.Properties) Attrs {
	out := Attrs{}
	for _, p := range ps {
		out = append(out, Attr{Name: p.Key, Value: PropertyValue(p)})
	}
	return out
}

// PropertyValue is a property as a Nix value: a list of strings for an
// array, a string otherwise.
func PropertyValue(p config.Property) Value {
	if !p.List {
		return String(p.Value())
	}
	l := List{}
	for _, v := range p.Values {
		l = append(l, String(v))
	}
	return l
}
