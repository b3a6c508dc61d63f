{
  description = "Dysnomia: deploy and keep mutable state (databases, directories) the way Nix deploys packages";

  # The only input. flake.lock pins it (nixpkgs-unstable of 2026-04-11: it
  # has buildGo125Module, system.preSwitchChecks and postgresql.target).
  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixpkgs-unstable";

  outputs =
    { self, nixpkgs }:
    let
      inherit (nixpkgs) lib;
      systems = [
        "x86_64-linux"
        "aarch64-linux"
      ];
      forAllSystems = f: lib.genAttrs systems (system: f nixpkgs.legacyPackages.${system});

      version = "0.1.0-dev+${self.shortRev or self.dirtyShortRev or "dirty"}";
      dysnomiaFor = pkgs: pkgs.callPackage ./nix/package.nix { inherit version; };
    in
    {
      packages = forAllSystems (pkgs: rec {
        dysnomia = dysnomiaFor pkgs;
        default = dysnomia;
      });

      overlays.default = final: _prev: {
        dysnomia = dysnomiaFor final;
      };

      # services.dysnomia; the package defaults to this flake's build for the
      # machine's system (no overlay needed), built with the pinned nixpkgs.
      nixosModules.default =
        { lib, pkgs, ... }:
        {
          imports = [ ./nixos-module ];
          services.dysnomia.package = lib.mkDefault (
            self.packages.${pkgs.stdenv.hostPlatform.system}.default or (dysnomiaFor pkgs)
          );
        };
      nixosModules.dysnomia = self.nixosModules.default;

      # `nix flake check` builds the package and runs the NixOS VM tests
      # (they need KVM).
      checks = forAllSystems (
        pkgs:
        {
          package = self.packages.${pkgs.stdenv.hostPlatform.system}.default;
        }
        // import ./tests/nixos {
          inherit pkgs;
          nixosModule = self.nixosModules.default;
        }
      );

      devShells = forAllSystems (pkgs: {
        default = pkgs.mkShell {
          packages = [
            pkgs.go_1_25
            pkgs.gopls
            pkgs.gotools
            pkgs.postgresql
            pkgs.mariadb
            pkgs.sqlite
            pkgs.nix
            pkgs.graphviz
            pkgs.zstd
            pkgs.xz
          ];
          # go.mod pins go 1.25.0; do not let the go command fetch another
          # toolchain.
          GOTOOLCHAIN = "local";
        };
      });
    };
}
