# The shape of the flake's outputs, evaluated against stub-nixpkgs.nix.
# Arguments: root, the repository's absolute path (a string).
{ root }:
let
  flake = import (root + "/flake.nix");
  nixpkgs = import ./stub-nixpkgs.nix;
  self = outputs // { shortRev = "0123abc"; };
  outputs = flake.outputs { inherit self nixpkgs; };
  rel = p: let s = toString p; n = builtins.stringLength root; in
    if builtins.substring 0 n s == root then builtins.substring (n + 1) (builtins.stringLength s) s else s;
  perSystem = attrs: builtins.mapAttrs (_: builtins.attrNames) attrs;
  module = outputs.nixosModules.default {
    lib = nixpkgs.lib;
    pkgs = nixpkgs.legacyPackages.x86_64-linux;
  };
  checks = outputs.checks.x86_64-linux;
  tests = builtins.removeAttrs checks [ "package" ];
in
{
  inputs = flake.inputs;
  outputs = builtins.attrNames outputs;
  packages = perSystem outputs.packages;
  checks = perSystem outputs.checks;
  devShells = perSystem outputs.devShells;
  nixosModules = builtins.attrNames outputs.nixosModules;
  package = {
    file = rel outputs.packages.x86_64-linux.default.file;
    version = outputs.packages.x86_64-linux.default.args.version;
    sameAsCheck = checks.package == outputs.packages.x86_64-linux.default;
  };
  overlay = (outputs.overlays.default nixpkgs.legacyPackages.aarch64-linux { }).dysnomia.system;
  module = {
    imports = map rel module.imports;
    packagePriority = module.services.dysnomia.package.priority;
    packageSystem = module.services.dysnomia.package.content.system;
  };
  tests = builtins.mapAttrs (_: t: {
    imports = map rel t.module.imports;
    # The module under test, the flake's nixosModules.default (a function).
    defaults = map builtins.typeOf t.module.defaults.imports;
    name = (import (builtins.head t.module.imports) { }).name;
  }) tests;
}
