# The stub modules, by their path under modulesPath (as in nixpkgs'
# nixos/modules/module-list.nix).
[
  "config/shells-environment.nix"
  "config/system-path.nix"
  "config/users-groups.nix"
  "misc/assertions.nix"
  "misc/ids.nix"
  "misc/version.nix"
  "services-read-by-disnix.nix"
  "services/databases/mysql.nix"
  "services/databases/postgresql.nix"
  "services/misc/disnix.nix"
  "services/misc/dysnomia.nix"
  "system/activation/activation-script.nix"
  "system/activation/pre-switch-check.nix"
  "system/activation/top-level.nix"
  "system/boot/systemd.nix"
  "system/boot/systemd/tmpfiles.nix"
  "system/etc/etc.nix"
  "tasks/network-interfaces.nix"
]
