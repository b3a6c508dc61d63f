# The assertions of services.dysnomia, as a function of plain option values
# (builtins only, so tests/nix can evaluate it without nixpkgs). Each
# message names the option to change and how.
#
# The Go decoder (internal/config/system.go) checks the generated JSON again
# at build time (`dysnomia system check` in the config's checkPhase); these
# checks come first so that the message names the NixOS option rather than a
# JSON path.
{
  storeDir ? "/nix/store",
  stateDir,
  properties,
  containers,
  components,
}:
let
  meta = import ./types.nix;

  # An attribute name as NixOS prints it in an option path.
  attr = n: if builtins.match "[A-Za-z_][A-Za-z0-9_'-]*" n != null then n else "\"${n}\"";
  opt = path: "services.dysnomia." + builtins.concatStringsSep "." path;
  containerOpt = c: rest: opt ([ "containers" (attr c) ] ++ rest);
  componentOpt = c: n: rest: opt ([ "components" (attr c) (attr n) ] ++ rest);

  check = assertion: message: { inherit assertion message; };
  concatMap = f: xs: builtins.concatLists (map f xs);
  mapAttrsToList = f: attrs: map (n: f n attrs.${n}) (builtins.attrNames attrs);
  concatMapAttrs = f: attrs: builtins.concatLists (mapAttrsToList f attrs);
  quoteList = xs: builtins.concatStringsSep ", " (map (x: "\"${x}\"") xs);

  propertyChecks = where: props:
    concatMap
      (k:
        [
          (check (meta.isPropertyName k)
            "${where}.${attr k}: \"${k}\" is not a property name: use letters, digits and _, not starting with a digit (the name becomes an environment variable).")
          (check (k != "type")
            "${where}.type: the type is not a property; set it with the container's `type` option.")
          (check (!(meta.clearSecrets ? ${k}))
            "${where}.${attr k}: a password must not be written into the configuration (it would land in the world-readable Nix store); put it in a file outside the store and name that file with the container's `${meta.clearSecrets.${k} or "secretFiles"}` option.")
        ])
      (builtins.attrNames props);

  secretPathChecks = where: file: [
    (check (meta.isAbsolute file)
      "${where} = \"${toString file}\": give the absolute path of the file holding the secret, e.g. \"/run/keys/db-password\".")
    (check (!(meta.inStore storeDir file))
      "${where} = \"${toString file}\" is in the Nix store, which every user can read: keep the secret in a file outside the store (e.g. /run/keys/…, or a secret manager's output) and give its path as a string, not as a Nix path literal (which copies the file into the store).")
  ];

  containerChecks = name: c:
    let
      where = containerOpt name [ ];
      passwordKey = meta.passwordProperty c.type;
    in
    [
      (check (meta.isName name)
        "${where}: \"${name}\" is not a valid container name: use letters, digits and . _ + - (not . + - first).")
      (check (meta.isName c.type)
        "${containerOpt name [ "type" ]} = \"${c.type}\": want a module type such as \"postgresql-database\", \"mysql-database\", \"sqlite-database\" or \"fileset\".")
    ]
    ++ propertyChecks (containerOpt name [ "properties" ]) c.properties
    ++ concatMapAttrs
      (k: file:
        [
          (check (meta.isPropertyName k)
            "${containerOpt name [ "secretFiles" (attr k) ]}: \"${k}\" is not a property name: use letters, digits and _, not starting with a digit.")
          (check (!(c.properties ? ${k}))
            "${containerOpt name [ "secretFiles" (attr k) ]}: ${k} is also set in ${containerOpt name [ "properties" ]}; a property is either a value or a secret file: remove one of them.")
        ]
        ++ secretPathChecks (containerOpt name [ "secretFiles" (attr k) ]) file)
      c.secretFiles
    ++ (if c.passwordFile == null then [ ] else
    [
      (check (passwordKey != null)
        "${containerOpt name [ "passwordFile" ]}: type \"${c.type}\" has no password file property; use ${containerOpt name [ "secretFiles" ]}.<property> = \"/path/to/file\" with the property the module reads.")
      (check (passwordKey == null || !(c.secretFiles ? ${passwordKey}))
        "${containerOpt name [ "passwordFile" ]}: also given as ${containerOpt name [ "secretFiles" (attr (toString passwordKey)) ]}; set only one of them.")
      (check (passwordKey == null || !(c.properties ? ${passwordKey}))
        "${containerOpt name [ "passwordFile" ]}: ${toString passwordKey} is also set in ${containerOpt name [ "properties" ]}; remove it there.")
    ]
    ++ secretPathChecks (containerOpt name [ "passwordFile" ]) c.passwordFile);

  componentChecks = cname: name: comp:
    let
      declared = containers ? ${cname};
      type = if declared then containers.${cname}.type else null;
      scriptDir = if type == null then null else meta.scriptDir type;
      ownerKey = if type == null then null else meta.ownerProperty type;
      hasScripts = comp.initSQL != [ ] || comp.sql != null;
      where = componentOpt cname name [ ];
    in
    [
      (check (meta.isName name)
        "${where}: \"${name}\" is not a valid component name: use letters, digits and . _ + - (not . + - first).")
      (check (!(hasScripts && comp.component != null))
        "${where}: set either initSQL/sql (the module builds the component) or component (a ready-made derivation), not both.")
      (check (hasScripts || comp.component != null)
        "${where}: nothing to deploy: set initSQL (files), sql (text) or component (a derivation laid out as the module expects).")
      (check (!(declared && hasScripts && scriptDir == null))
        "${componentOpt cname name [ "initSQL" ]}: container ${attr cname} has type \"${toString type}\", which takes no init scripts (only ${quoteList (builtins.attrNames meta.scriptDirs)} do); use ${componentOpt cname name [ "component" ]} instead.")
      (check (!(declared && comp.owner != null && ownerKey == null))
        "${componentOpt cname name [ "owner" ]}: type \"${toString type}\" has no owner property (only ${quoteList (builtins.attrNames meta.owners)} do); remove it, or set the property the module reads in ${componentOpt cname name [ "properties" ]}.")
      (check (!(comp.owner != null && ownerKey != null && comp.properties ? ${toString ownerKey}))
        "${componentOpt cname name [ "owner" ]}: ${toString ownerKey} is also set in ${componentOpt cname name [ "properties" ]}; set only one of them.")
    ]
    ++ propertyChecks (componentOpt cname name [ "properties" ]) comp.properties;
in
[
  (check (meta.isAbsolute stateDir)
    "services.dysnomia.stateDir = \"${stateDir}\": want an absolute directory such as /var/state/dysnomia.")
]
++ concatMap
  (k: [
    (check (meta.isPropertyName k)
      "${opt [ "properties" (attr k) ]}: \"${k}\" is not a property name: use letters, digits and _, not starting with a digit.")
  ])
  (builtins.attrNames properties)
++ concatMapAttrs containerChecks containers
++ concatMapAttrs
  (cname: comps:
    [
      (check (containers ? ${cname})
        "${opt [ "components" (attr cname) ]}: no container ${attr cname} is declared; declare ${containerOpt cname [ "type" ]} (enabling services.postgresql or services.mysql declares \"postgresql-database\" or \"mysql-database\"), or use one of: ${quoteList (builtins.attrNames containers)}.")
    ]
    ++ concatMapAttrs (componentChecks cname) comps)
  components
