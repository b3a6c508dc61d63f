# Mirrors the declaration of environment.variables in nixpkgs
# nixos/modules/config/shells-environment.nix (pinned rev): attrsOf (a
# string, integer or path, or a list of them), applied to strings (lists
# joined with ":"). These go to login shells (/etc/set-environment), not to
# systemd services.
{ lib, ... }:
let
  inherit (lib) types;
  atom = types.oneOf [
    types.int
    types.str
    types.path
  ];
in
{
  options.environment.variables = lib.mkOption {
    default = { };
    type = types.attrsOf (types.either (types.listOf atom) atom);
    apply =
      let
        toStr = v: if lib.isPath v then "${v}" else toString v;
      in
      lib.mapAttrs (n: v: if lib.isList v then lib.concatMapStringsSep ":" toStr v else toStr v);
  };
}
