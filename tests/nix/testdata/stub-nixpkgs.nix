# A stand-in for the nixpkgs flake input with only what flake.nix touches
# while its outputs are laid out, so that tests/nix can check the shape of
# the flake (output names, which file each package, module and check comes
# from) with nix-instantiate and no nixpkgs. Nothing here is built: the real
# builds run with `nix build` / `nix flake check` on a machine with nixpkgs.
let
  stubDerivation = name: attrs: attrs // {
    type = "derivation";
    inherit name;
    outPath = "/nix/store/00000000000000000000000000000000-${name}";
  };
  pkgsFor = system: {
    stdenv.hostPlatform.system = system;
    callPackage = file: args: stubDerivation "callPackage" {
      file = toString file;
      inherit args system;
    };
    testers.runNixOSTest = module: stubDerivation "nixos-test" { inherit module; };
    mkShell = args: stubDerivation "shell" { inherit args; };
  };
  systems = [ "x86_64-linux" "aarch64-linux" "x86_64-darwin" ];
in
{
  lib = {
    genAttrs = names: f: builtins.listToAttrs (map (name: { inherit name; value = f name; }) names);
    mkDefault = content: { _type = "override"; priority = 1000; inherit content; };
  };
  legacyPackages = builtins.listToAttrs (map (name: { inherit name; value = pkgsFor name; }) systems);
}
