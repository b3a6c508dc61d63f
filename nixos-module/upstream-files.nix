# The upstream-compatible views of the system config, for the tools and
# callers that read files rather than the JSON (Disnix, `dysnomia --container
# NAME`, `dysnomia containers …`, `dysnomia-containers --generate-expr`):
#
#   /etc/dysnomia/properties              machine properties, key=value
#   /etc/dysnomia/containers/<container>  container properties, then type=<type>
#
# (/etc/dysnomia/components/<container>/<component> are symlinks to the
# component paths; the module makes them.)
#
# Input: the attribute set config-json.nix returns. Builtins only, so that
# tests/nix can evaluate it and parse the result with the Go parser
# (internal/config.Parse), which never runs shell code.
#
# Values are quoted so that both that parser and a POSIX shell read them back
# unchanged: in single quotes when they hold no single quote, else in double
# quotes with \ " $ ` escaped. Per-component properties have no place in this
# format; `dysnomia system switch` reads them from the JSON.
config:
let
  sort = builtins.sort builtins.lessThan;
  escapeDouble = s:
    builtins.replaceStrings [ "\\" "\"" "$" "`" ] [ "\\\\" "\\\"" "\\$" "\\`" ] s;
  quote = s:
    if builtins.replaceStrings [ "'" ] [ "" ] s == s
    then "'${s}'"
    else "\"${escapeDouble s}\"";
  scalar = v:
    if builtins.isBool v then (if v then "true" else "false")
    else toString v;
  value = v:
    if builtins.isList v
    then "(" + builtins.concatStringsSep " " (map (e: quote (scalar e)) v) + ")"
    else quote (scalar v);
  lines = attrs:
    map (k: "${k}=${value attrs.${k}}\n") (sort (builtins.attrNames attrs));

  containerFile = c:
    builtins.concatStringsSep "" (
      lines ((c.properties or { }) // (c.secretFiles or { }))
      ++ [ "type=${c.type}\n" ]
    );
in
{
  properties = builtins.concatStringsSep "" (lines config.properties);
  containers = builtins.mapAttrs (_: containerFile) config.containers;
}
