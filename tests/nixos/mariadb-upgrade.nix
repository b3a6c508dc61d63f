# A MariaDB upgrade (10.11 → 11.4, LTS versions of the pinned nixpkgs)
# with `nixos-rebuild boot`, onto a new data directory: pre-switch
# snapshots the database with the running server's own mariadb-dump, and at
# the next boot dysnomia.service finds the new server without the database
# and creates it by restoring that snapshot, with no restore command. (An
# upgrade in place, on the same data directory, keeps the database, which
# the switch then leaves alone: tests/e2e covers both.)
{ ... }:
{
  name = "dysnomia-mariadb-upgrade";

  nodes.machine =
    { lib, pkgs, ... }:
    {
      services.mysql = {
        enable = true;
        package = pkgs.mariadb_1011;
      };
      services.dysnomia = {
        enable = true;
        snapshots.onBoot = "snapshot";
        components.mysql-database.shop.sql = ''
          CREATE TABLE orders (id INT PRIMARY KEY, item TEXT NOT NULL);
          INSERT INTO orders VALUES (1, 'first');
        '';
      };
      specialisation.mariadb114.configuration = {
        services.mysql.package = lib.mkForce pkgs.mariadb_114;
        services.mysql.dataDir = lib.mkForce "/var/lib/mysql-114";
      };
    };

  testScript = ''
    def sql(q: str) -> str:
        return machine.succeed(f"mariadb -N -B shop -e \"{q}\"").strip()


    machine.wait_for_unit("dysnomia.service")
    base = machine.succeed("readlink -f /run/current-system").strip()
    sql("INSERT INTO orders VALUES (2, 'written on 10.11')")

    with subtest("boot into 11.4 on a new data directory: the data comes across"):
        machine.succeed(f"{base}/specialisation/mariadb114/bin/switch-to-configuration boot >&2")
        taken = machine.succeed("dysnomia snapshots list -C mysql-database -c shop").strip().splitlines()
        assert len(taken) == 1, taken
        machine.shutdown()
        machine.start()
        machine.wait_for_unit("dysnomia.service")
        assert "11.4" in sql("SELECT VERSION()")
        assert sql("SELECT item FROM orders ORDER BY id") == "first\nwritten on 10.11"
        journal = machine.succeed("journalctl -b -u dysnomia.service -o cat")
        assert "pre-upgrade snapshot" in journal, journal
  '';
}
