# A PostgreSQL database declared in services.dysnomia: created with its init
# script on the first switch (the boot), left alone by a later switch,
# snapshotted and marked garbage when it is removed from the configuration,
# and brought back by restore.
#
# Specialisations are the other configurations switched to; each is
# switched to from the base system's toplevel, whose specialisation/ links
# stay reachable after /run/current-system has moved on.
{ ... }:
{
  name = "dysnomia-postgresql";

  nodes.machine =
    { lib, pkgs, ... }:
    {
      services.postgresql = {
        enable = true;
        package = pkgs.postgresql_16;
        ensureUsers = [ { name = "app"; } ];
      };

      services.dysnomia = {
        enable = true;
        components.postgresql-database.app = {
          owner = "app";
          sql = ''
            CREATE TABLE greetings (id serial PRIMARY KEY, text text NOT NULL);
            INSERT INTO greetings (text) VALUES ('Hello world');
          '';
        };
      };

      # A changed configuration that leaves "app" as it is.
      specialisation.second.configuration = {
        services.dysnomia.components.postgresql-database.extra.sql = ''
          CREATE TABLE notes (body text);
        '';
      };

      # "app" removed from the configuration.
      specialisation.removed.configuration = {
        services.dysnomia.components = lib.mkForce { };
      };
    };

  testScript = ''
    import json
    import shlex


    def psql(sql: str, db: str = "app") -> str:
        return machine.succeed(
            f"runuser -u postgres -- psql -X -tA -v ON_ERROR_STOP=1 -d {db} -c {shlex.quote(sql)}"
        ).strip()


    def generations(component: str) -> list[str]:
        out = machine.succeed(f"dysnomia snapshots list -C postgresql-database -c {component}")
        return [line for line in out.splitlines() if line.strip()]


    def activated() -> set[str]:
        entries = json.loads(machine.succeed("dysnomia containers activated --json"))
        return {f"{e['container']}/{e['component']}" for e in entries}


    def invocation() -> str:
        return machine.succeed("systemctl show -P InvocationID dysnomia.service").strip()


    def switch(specialisation: str = "") -> None:
        path = f"{base}/specialisation/{specialisation}" if specialisation else base
        machine.succeed(f"{path}/bin/switch-to-configuration test >&2")


    machine.wait_for_unit("multi-user.target")
    base = machine.succeed("readlink -f /run/current-system").strip()

    with subtest("the first switch creates the database and runs its init script"):
        machine.wait_for_unit("dysnomia.service")
        assert psql("SELECT text FROM greetings") == "Hello world"
        assert psql("SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'app'") == "app"
        assert "postgresql-database/app" in activated()
        machine.succeed("test -s /etc/dysnomia/system.json")
        machine.succeed(f"test -s {base}/etc/dysnomia/system.json")
        machine.succeed("dysnomia system check --config /etc/dysnomia/system.json")

    with subtest("the state is root's alone; dysnomia.target is a unit in the mutable directory"):
        assert machine.succeed("stat -c '%a %U %G' /var/state/dysnomia").strip() == "700 root root"
        assert machine.succeed("systemctl show -P UMask dysnomia.service").strip() == "0077"
        machine.succeed("test -f /etc/systemd-mutable/system/dysnomia.target")
        machine.succeed("systemctl cat dysnomia.target")

    with subtest("a second switch leaves the database alone"):
        psql("INSERT INTO greetings (text) VALUES ('Bye world')")
        before = invocation()
        switch("second")
        assert invocation() != before, "a changed config must re-run dysnomia.service"
        assert psql("SELECT count(*) FROM greetings") == "2"
        assert psql("SELECT count(*) FROM notes", db="extra") == "0"
        # Nothing that existed changed: no pre-upgrade snapshot of "app".
        assert generations("app") == [], generations("app")

    with subtest("removing a component snapshots it and marks it garbage"):
        switch("removed")
        assert len(generations("app")) >= 1, "removed component was not snapshotted"
        machine.succeed("dysnomia snapshots check -C postgresql-database -c app")
        machine.succeed("test -e /var/state/dysnomia/garbage/postgresql-database/app")
        assert "postgresql-database/app" not in activated()
        # garbage.removed = "keep": the data is still there until collected.
        assert psql("SELECT count(*) FROM greetings") == "2"
        machine.succeed("dysnomia containers collect-garbage")
        machine.fail("runuser -u postgres -- psql -X -d app -c 'SELECT 1'")

    with subtest("declaring it again creates it afresh; restore brings the data back"):
        switch()
        assert psql("SELECT count(*) FROM greetings") == "1"
        machine.succeed("dysnomia restore -C postgresql-database -c app")
        assert psql("SELECT text FROM greetings ORDER BY id") == "Hello world\nBye world"
  '';
}
