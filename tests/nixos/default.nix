# NixOS VM tests of services.dysnomia (testers.runNixOSTest), listed in the
# flake's checks. They need a machine with Nix and KVM:
#   nix build .#checks.x86_64-linux.postgresql -L
# Every node imports the module under test (the flake's
# nixosModules.default) with the package the flake builds.
{ pkgs, nixosModule }:
let
  runTest =
    file:
    pkgs.testers.runNixOSTest {
      imports = [ file ];
      defaults.imports = [ nixosModule ];
    };
in
{
  postgresql = runTest ./postgresql.nix;
  postgresql-upgrade = runTest ./postgresql-upgrade.nix;
  mariadb = runTest ./mariadb.nix;
  mariadb-upgrade = runTest ./mariadb-upgrade.nix;
  server-removal = runTest ./server-removal.nix;
  transfer = runTest ./transfer.nix;
  systemd-unit = runTest ./systemd-unit.nix;
  docker-container = runTest ./docker-container.nix;
  nixos-configuration = runTest ./nixos-configuration.nix;
}
