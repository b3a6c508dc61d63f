# Evaluates a NixOS configuration with the stand-in lib (./lib.nix), the
# stubs of the nixpkgs modules (./modules, listed in ./module-list.nix) and
# the stub package set (./pkgs.nix), with this project's module
# (nixos-module/default.nix) unless `ours = false` (then nixpkgs' own
# services.dysnomia stub is what the configuration meets).
#
# Arguments: modules, the configuration (a list of modules); ours;
# without, stub files to leave out (e.g. the pre-switch check, as on nixpkgs
# before 24.11).
{
  modules ? [ ],
  ours ? true,
  without ? [ ],
}:
let
  lib = import ./lib.nix;
  pkgs = import ./pkgs.nix { inherit lib; };
  modulesPath = ./modules;
  nixpkgsModules = map (p: modulesPath + "/${p}") (
    builtins.filter (p: !(builtins.elem p without)) (import ./module-list.nix)
  );
  base = {
    system.stateVersion = "25.11";
    networking.hostName = "db1";
  };
  eval = lib.evalModules {
    modules = nixpkgsModules ++ lib.optional ours ../../../../nixos-module/default.nix ++ [ base ] ++ modules;
    specialArgs = { inherit pkgs modulesPath; };
  };
in
{
  inherit lib pkgs;
  inherit (eval) config options;
  failedAssertions = map (a: a.message) (builtins.filter (a: !a.assertion) eval.config.assertions);
  inherit (eval.config) warnings;
}
