# Mirrors nixpkgs nixos/modules/misc/assertions.nix (unchanged for years;
# read at 08062fcc): the declarations, names, types and defaults as there.
# nixpkgs fails the build on a false assertion and prints the warnings in
# system/activation/top-level.nix; here the tests read both.
{ lib, ... }:
{
  options = {
    assertions = lib.mkOption {
      type = lib.types.listOf lib.types.unspecified;
      internal = true;
      default = [ ];
    };
    warnings = lib.mkOption {
      internal = true;
      default = [ ];
      type = lib.types.listOf lib.types.str;
    };
  };
}
