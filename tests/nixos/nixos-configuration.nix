# The nixos-configuration module on a real NixOS: activating a system
# toplevel sets the system profile and switches to it (testNixOS: "test"),
# then deploys the system's own Dysnomia components; snapshot and restore
# carry that inner state; deactivate rolls the profile back.
{ ... }:
{
  name = "dysnomia-nixos-configuration";

  nodes.machine =
    { pkgs, ... }:
    {
      services.dysnomia = {
        enable = true;
        containers.files = {
          type = "fileset";
          properties.targetDir = "/srv/files";
        };
        components.files.uploads.component = pkgs.runCommand "uploads" { } ''
          mkdir $out
          echo "mkdir data" > $out/.dysnomia-fileset
        '';
      };
      specialisation.v2.configuration = {
        environment.etc."dysnomia-test-v2".text = "v2";
      };
    };

  testScript = ''
    outer = "DYSNOMIA_STATEDIR=/var/state/dysnomia-outer DYSNOMIA_NIXOS_STATEDIR=/var/state/dysnomia testNixOS=1"


    def disnix(op: str, component: str) -> None:
        machine.succeed(
            f"{outer} dysnomia --type nixos-configuration --operation {op} "
            f"--component {component} --container nixos-configuration --environment >&2"
        )


    machine.wait_for_unit("dysnomia.service")
    base = machine.succeed("readlink -f /run/current-system").strip()
    v2 = machine.succeed(f"readlink -f {base}/specialisation/v2").strip()

    # A test VM boots its toplevel without a system profile: start one at
    # the base system, so that deactivate has a generation to go back to.
    machine.succeed(f"nix-env -p /nix/var/nix/profiles/system --set {base}")

    with subtest("activate sets the profile, switches and deploys the inner state"):
        disnix("activate", v2)
        assert machine.succeed("readlink -f /run/current-system").strip() == v2
        assert machine.succeed("readlink -f /nix/var/nix/profiles/system").strip() == v2
        machine.succeed("test -e /etc/dysnomia-test-v2")
        machine.succeed("test -d /srv/files/data")
        machine.succeed("dysnomia containers activated | grep -qx 'files/uploads'")

    with subtest("snapshot and restore carry the inner state"):
        machine.succeed("echo first > /srv/files/data/a.txt")
        disnix("snapshot", v2)
        disnix("snapshot", v2)  # unchanged: one generation
        gens = machine.succeed("DYSNOMIA_STATEDIR=/var/state/dysnomia-outer dysnomia snapshots list").split()
        assert len(gens) == 1 and gens[0].startswith("nixos-configuration/"), gens
        machine.succeed("rm /srv/files/data/a.txt && echo later > /srv/files/data/b.txt")
        disnix("restore", v2)
        assert machine.succeed("cat /srv/files/data/a.txt").strip() == "first"
        machine.fail("test -e /srv/files/data/b.txt")
        disnix("collect-garbage", v2)

    with subtest("deactivate rolls the profile back"):
        disnix("deactivate", v2)
        assert machine.succeed("readlink -f /run/current-system").strip() == base
        assert machine.succeed("readlink -f /nix/var/nix/profiles/system").strip() == base
        machine.fail("test -e /etc/dysnomia-test-v2")
  '';
}
