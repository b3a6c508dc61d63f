# The projection of the services.dysnomia options onto the system config
# (version 1) that `dysnomia system check|switch|pre-switch` read.
#
# Keep in sync with docs/system-config.md and internal/config/system.go.
#
# Every field is named here on purpose: a new option does not reach the JSON
# until it is added below (and to the document and the Go decoder). The
# function needs no nixpkgs, only builtins, so that
#   nix-instantiate --eval --strict --json -E 'import ./config-json.nix (import fixture.nix)'
# evaluates it on plain option values (tests/nix does exactly that).
#
# Arguments, as the module passes them (option values with defaults applied):
#   stateDir    string
#   properties  { name = value; }   value: string, int, bool or list of strings
#   containers  { name = { type; properties; passwordFile; secretFiles; serverPackage; }; }
#                 passwordFile: null or an absolute path; serverPackage: null,
#                 a derivation or a store path string
#   components  { container = { name = { path; owner; properties; }; }; }
#                 path: the component's store path, resolved by the module
#                 from initSQL/sql/component; owner: null or a name
#   snapshots   { beforeUpgrade; keep; onFailure; onBoot; restoreAfterUpgrade; }
#   garbage     { removed; }
#
# The result is an attribute set; builtins.toJSON turns it into the file.
{
  stateDir,
  properties,
  containers,
  components,
  snapshots,
  garbage,
}:
let
  meta = import ./types.nix;

  # Drops the attributes whose value is null or an empty set, so that
  # optional fields are absent rather than empty.
  compact = attrs:
    builtins.removeAttrs attrs (builtins.filter
      (n: attrs.${n} == null || attrs.${n} == { })
      (builtins.attrNames attrs));

  projectContainer = name: c:
    let
      passwordKey = meta.passwordProperty c.type;
      secretFiles =
        c.secretFiles
        // (if c.passwordFile != null && passwordKey != null
            then { ${passwordKey} = c.passwordFile; }
            else { });
    in
    compact {
      type = c.type;
      properties = c.properties;
      secretFiles = secretFiles;
      serverPackage = if c.serverPackage == null then null else toString c.serverPackage;
    };

  projectComponent = containerName: name: comp:
    let
      type = containers.${containerName}.type or null;
      ownerKey = if type == null then null else meta.ownerProperty type;
      owner =
        if comp.owner != null && ownerKey != null
        then { ${ownerKey} = comp.owner; }
        else { };
    in
    compact {
      path = toString comp.path;
      properties = comp.properties // owner;
    };

  # A container with no components is left out of "components".
  projectComponents =
    builtins.removeAttrs
      (builtins.mapAttrs
        (c: comps: builtins.mapAttrs (projectComponent c) comps)
        components)
      (builtins.filter (c: components.${c} == { }) (builtins.attrNames components));
in
{
  version = 1;
  inherit stateDir properties;
  containers = builtins.mapAttrs projectContainer containers;
  components = projectComponents;
  snapshots = {
    beforeUpgrade = snapshots.beforeUpgrade;
    keep = snapshots.keep;
    onFailure = snapshots.onFailure;
    onBoot = snapshots.onBoot;
    restoreAfterUpgrade = snapshots.restoreAfterUpgrade;
  };
  garbage = {
    removed = garbage.removed;
  };
}
