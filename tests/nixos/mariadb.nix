# The same scenarios on MariaDB: created with its init script on the first
# switch, left alone by a later switch, snapshotted and marked garbage when
# removed, and snapshotted before a switch that upgrades the server
# (10.11 → 11.4, which upgrades the data directory in place).
{ ... }:
{
  name = "dysnomia-mariadb";

  nodes.machine =
    { lib, pkgs, ... }:
    {
      services.mysql = {
        enable = true;
        package = pkgs.mariadb_1011;
      };

      services.dysnomia = {
        enable = true;
        components.mysql-database.app.sql = ''
          CREATE TABLE greetings (id INT AUTO_INCREMENT PRIMARY KEY, text VARCHAR(64) NOT NULL);
          INSERT INTO greetings (text) VALUES ('Hello world');
        '';
      };

      specialisation.second.configuration = {
        services.dysnomia.components.mysql-database.extra.sql = ''
          CREATE TABLE notes (body TEXT);
        '';
      };

      specialisation.removed.configuration = {
        services.dysnomia.components = lib.mkForce { };
      };

      specialisation.upgrade.configuration = {
        services.mysql.package = lib.mkForce pkgs.mariadb_114;
      };
    };

  testScript = ''
    import shlex


    def sql(query: str, db: str = "app") -> str:
        return machine.succeed(f"mariadb -N -B {db} -e {shlex.quote(query)}").strip()


    def generations() -> list[str]:
        out = machine.succeed("dysnomia snapshots list -C mysql-database -c app")
        return [line for line in out.splitlines() if line.strip()]


    def switch(specialisation: str = "") -> None:
        path = f"{base}/specialisation/{specialisation}" if specialisation else base
        machine.succeed(f"{path}/bin/switch-to-configuration test >&2")


    machine.wait_for_unit("dysnomia.service")
    base = machine.succeed("readlink -f /run/current-system").strip()

    with subtest("the first switch creates the database and runs its init script"):
        assert sql("SELECT text FROM greetings") == "Hello world"

    with subtest("a second switch leaves the database alone"):
        sql("INSERT INTO greetings (text) VALUES ('Bye world')")
        switch("second")
        assert sql("SELECT COUNT(*) FROM greetings") == "2"
        assert sql("SELECT COUNT(*) FROM notes", db="extra") == "0"
        assert generations() == []

    with subtest("removing a component snapshots it and marks it garbage"):
        switch("removed")
        assert len(generations()) >= 1, "removed component was not snapshotted"
        machine.succeed("test -e /var/state/dysnomia/garbage/mysql-database/app")
        assert sql("SELECT COUNT(*) FROM greetings") == "2"

    with subtest("declaring it again takes it back as it is"):
        switch()
        machine.fail("test -e /var/state/dysnomia/garbage/mysql-database/app")
        assert sql("SELECT COUNT(*) FROM greetings") == "2"

    with subtest("a server upgrade is preceded by a snapshot"):
        sql("INSERT INTO greetings (text) VALUES ('written on 10.11')")
        before = len(generations())
        switch("upgrade")
        assert len(generations()) == before + 1, generations()
        assert sql("SELECT VERSION()", db="app").startswith("11.4")
        machine.succeed("dysnomia snapshots check -C mysql-database -c app")
        sql("DELETE FROM greetings")
        machine.succeed("dysnomia restore -C mysql-database -c app")
        assert sql("SELECT text FROM greetings ORDER BY id") == "Hello world\nBye world\nwritten on 10.11"
  '';
}
