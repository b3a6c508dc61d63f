# services.dysnomia: declare containers (database servers, directories) and
# the state components deployed into them (databases with their init
# scripts, …); Dysnomia creates them on `nixos-rebuild switch` and snapshots
# them before an upgrade can touch them.
#
# What it wires up:
#   - /etc/dysnomia/system.json: the system config (config-json.nix), checked
#     at build time by `dysnomia system check`, so a bad config fails
#     `nixos-rebuild build`, not the switch; it is also at
#     $toplevel/etc/dysnomia/system.json in every built system, which is
#     where `dysnomia system pre-switch` finds the candidate's config;
#   - system.preSwitchChecks.dysnomia: `dysnomia system pre-switch NEW ACTION`
#     runs before switch-to-configuration stops anything, while the old
#     database servers still run, and snapshots what the switch may affect;
#   - dysnomia.service: a oneshot ordered after the database servers that
#     runs `dysnomia system switch` (create databases, run init scripts,
#     snapshot and retire removed components); the config's store path is in
#     ExecStart, so a changed config changes the unit and the switch restarts
#     it;
#   - the upstream-compatible files /etc/dysnomia/{properties,containers/*,
#     components/*/*} for Disnix and `dysnomia --container NAME …`.
#
# The flake's nixosModules.default imports this file and sets the package to
# the flake's own build; imported directly, the package is built from
# ../nix/package.nix with the system's nixpkgs.
{
  config,
  options,
  lib,
  pkgs,
  ...
}:
let
  cfg = config.services.dysnomia;
  known = import ./types.nix;
  dysnomia = "${cfg.package}/bin/dysnomia";
  inherit (lib)
    literalExpression
    mkDefault
    mkIf
    mkMerge
    mkOption
    types
    ;

  propertyValue = types.oneOf [
    types.str
    types.int
    types.bool
    (types.listOf types.str)
  ];

  propertyValuesDoc = ''
    Values are strings, integers, booleans or lists of strings; a module
    receives each one as an environment variable (a list space-separated).
  '';

  containerModule =
    { name, ... }:
    {
      options = {
        type = mkOption {
          type = types.str;
          default = name;
          defaultText = literalExpression "<name>";
          example = "postgresql-database";
          description = ''
            The module that manages this container's components: a native
            type (`postgresql-database`, `mysql-database`, `sqlite-database`,
            `fileset`, `echo`, `wrapper`, `process`, `systemd-unit`, …) or
            the name of an executable in
            {option}`services.dysnomia.extraModulePaths`. By default the
            container's name, as in upstream's container files.
          '';
        };

        properties = mkOption {
          type = types.attrsOf propertyValue;
          default = { };
          example = {
            postgresqlUsername = "postgres";
            postgresqlPort = "5432";
          };
          description = ''
            Container properties handed to the module (connection settings
            and the like). They are not secret: they end up in the
            world-readable Nix store. Use {option}`services.dysnomia.containers.<name>.passwordFile` or
            {option}`services.dysnomia.containers.<name>.secretFiles` for passwords. ${propertyValuesDoc}
          '';
        };

        passwordFile = mkOption {
          type = types.nullOr types.str;
          default = null;
          example = "/run/keys/postgresql-password";
          description = ''
            Absolute path of a file holding the password the module logs in
            with (`postgresql-database`: property `postgresqlPasswordFile`;
            `mysql-database`: `mysqlPasswordFile`). Only the path is in the
            configuration; the module reads the file when it runs. It must
            not be in the Nix store: give a string, not a Nix path literal,
            which would copy the secret into the store.
          '';
        };

        secretFiles = mkOption {
          type = types.attrsOf types.str;
          default = { };
          example = {
            postgresqlPasswordFile = "/run/keys/postgresql-password";
          };
          description = ''
            Property name → absolute path of a file holding a secret, for
            the secrets {option}`services.dysnomia.containers.<name>.passwordFile` does not cover. The module
            receives the path and reads the file at run time; paths in the
            Nix store are refused.
          '';
        };

        serverPackage = mkOption {
          type = types.nullOr types.package;
          default = null;
          example = literalExpression "pkgs.postgresql_16";
          description = ''
            The server package this container runs on. When it differs
            between the running and the new system (an upgrade), `dysnomia
            system pre-switch` snapshots the container's components before
            the switch, and the switch restores those snapshots into the new
            server where it lacks the databases (see
            {option}`services.dysnomia.snapshots.restoreAfterUpgrade`). Set
            automatically for the generated `postgresql-database`
            (`services.postgresql.finalPackage`: the package with its
            extensions) and `mysql-database` containers.
          '';
        };

        legacyProperties = mkOption {
          type = types.listOf types.str;
          default = [ ];
          internal = true;
          description = ''
            The properties given at the top level of the container, as
            nixpkgs' module for upstream Dysnomia took them (for the
            warning that names their new place).
          '';
        };
      };
    };

  # nixpkgs' module for upstream Dysnomia took a container as a flat set of
  # properties (its type being its name); this one as { type, properties,
  # … }. A definition with an attribute that is not an option here is of
  # the old form: its attributes become the properties.
  containerOptionNames = [
    "type"
    "properties"
    "passwordFile"
    "secretFiles"
    "serverPackage"
    "legacyProperties"
  ];
  legacyContainer = lib.mkOptionType {
    name = "legacyContainer";
    description = "set of container properties (nixpkgs' services.dysnomia form)";
    check = v: builtins.isAttrs v && lib.any (n: !(lib.elem n containerOptionNames)) (builtins.attrNames v);
  };
  fromLegacyContainer = v: {
    properties = v;
    legacyProperties = builtins.attrNames v;
  };

  componentModule =
    { name, ... }:
    {
      options = {
        initSQL = mkOption {
          type = types.listOf types.path;
          default = [ ];
          example = literalExpression "[ ./schema.sql ./seed.sql ]";
          description = ''
            SQL files run, in this order, when the database is created (and
            never again: an existing database is left alone). The module
            builds the component from them, laid out as the container's
            type expects (`postgresql-databases/`, `mysql-databases/` or
            `sqlite-databases/`). Init scripts are not secret: they are
            copied into the Nix store.
          '';
        };

        sql = mkOption {
          type = types.nullOr types.lines;
          default = null;
          example = ''
            CREATE TABLE visits (id serial PRIMARY KEY, at timestamptz NOT NULL DEFAULT now());
          '';
          description = ''
            SQL text run after the {option}`services.dysnomia.components.<container>.<name>.initSQL` files when the database
            is created.
          '';
        };

        component = mkOption {
          type = types.nullOr types.package;
          default = null;
          example = literalExpression ''
            pkgs.runCommand "app" { } '''
              mkdir -p $out/postgresql-databases
              cp ''${./schema.sql} $out/postgresql-databases/schema.sql
            '''
          '';
          description = ''
            A ready-made component (instead of {option}`services.dysnomia.components.<container>.<name>.initSQL` /
            {option}`services.dysnomia.components.<container>.<name>.sql`): a derivation laid out as the container's module
            expects, e.g. for `fileset` or an external module. Dysnomia
            knows a component by the name of its store path; when the
            derivation is named differently from this attribute, the module
            wraps it in a derivation that is.
          '';
        };

        owner = mkOption {
          type = types.nullOr types.str;
          default = null;
          example = "app";
          description = ''
            Owner of the component's state: the database role for
            `postgresql-database` (property `postgresqlOwner`), the
            `user[:group]` of the database file for `sqlite-database`
            (`sqliteOwner`). Default: the module's (the container's login
            user).
          '';
        };

        properties = mkOption {
          type = types.attrsOf propertyValue;
          default = { };
          example = {
            postgresqlEncoding = "UTF8";
          };
          description = ''
            Per-component properties, merged over the container's for this
            component's activities. ${propertyValuesDoc}
          '';
        };
      };
    };

  # The component's store path. Dysnomia knows a component by the name of
  # its path (docs/system-config.md), so a built or wrapped component is
  # always named after its attribute.
  componentPath =
    containerName: name: comp:
    let
      type = cfg.containers.${containerName}.type or null;
      dir = if type == null then null else known.scriptDir type;
      scripts =
        comp.initSQL ++ lib.optional (comp.sql != null) (pkgs.writeText "${name}-sql.sql" comp.sql);
      fileName =
        i: file:
        let
          base = known.nameOf builtins.storeDir file;
        in
        "${lib.fixedWidthNumber 3 i}-${lib.removeSuffix ".sql" base}.sql";
    in
    if comp.component != null then
      (
        if known.nameOf builtins.storeDir comp.component == name then
          comp.component
        else
          pkgs.symlinkJoin {
            inherit name;
            paths = [ comp.component ];
          }
      )
    else if dir == null then
      throw "services.dysnomia.components.${containerName}.${name}: container type ${toString type} takes no init scripts"
    else
      pkgs.runCommand name { } (
        ''
          mkdir -p "$out/${dir}"
        ''
        + lib.concatImapStrings (i: file: ''
          install -m 0444 ${lib.escapeShellArg "${file}"} "$out/${dir}/"${lib.escapeShellArg (fileName i file)}
        '') scripts
      );

  resolvedComponents = lib.mapAttrs (
    containerName: comps:
    lib.mapAttrs (name: comp: comp // { path = componentPath containerName name comp; }) comps
  ) cfg.components;

  systemConfig = import ./config-json.nix {
    inherit (cfg)
      stateDir
      properties
      containers
      snapshots
      garbage
      ;
    components = resolvedComponents;
  };

  upstreamFiles = import ./upstream-files.nix systemConfig;

  configFile = pkgs.writeTextFile {
    name = "dysnomia-system.json";
    text = builtins.toJSON systemConfig;
    # The package's own validation: a config the Go decoder refuses fails
    # the build. (Skipped when the build machine cannot run host binaries.)
    checkPhase = lib.optionalString (pkgs.stdenv.buildPlatform.canExecute pkgs.stdenv.hostPlatform) ''
      ${dysnomia} system check --config "$out"
    '';
  };

  serverPackages = lib.unique (
    lib.filter (p: p != null) (lib.mapAttrsToList (_: c: c.serverPackage) cfg.containers)
  );

  # A service of nixpkgs that may not be in the nixpkgs at hand.
  serviceEnabled = name: (options.services ? ${name}) && config.services.${name}.enable;
  # The port of an InfluxDB bind address such as ":8086" or "host:8086".
  portOf = address: lib.last (lib.splitString ":" (toString address));

  pgEnabled = config.services.postgresql.enable;
  # What the server really runs: with its extensions (finalPackage, where
  # nixpkgs has it), so that adding an extension is a server change too.
  pgPackage = config.services.postgresql.finalPackage or config.services.postgresql.package;
  mysqlEnabled = config.services.mysql.enable;
  # postgresql.target (NixOS 25.11 and later) is reached once the server
  # accepts connections and its setup (ensureDatabases, …) has run.
  pgUnit = if config.systemd.targets ? postgresql then "postgresql.target" else "postgresql.service";
  serverUnits = lib.optional pgEnabled pgUnit ++ lib.optional mysqlEnabled "mysql.service";

  # The search paths as nixpkgs' module for upstream Dysnomia set them:
  # the extra directories first, then /etc/dysnomia/{containers,modules}
  # (a directory that does not exist is skipped).
  searchPath = extra: dir: lib.concatStringsSep ":" (map toString extra ++ [ dir ]);

  dysnomiaEnv = {
    DYSNOMIA_STATEDIR = cfg.stateDir;
    DYSNOMIA_CONTAINERS_PATH = searchPath cfg.extraContainerPaths "/etc/dysnomia/containers";
    DYSNOMIA_COMPONENTS_PATH = "/etc/dysnomia/components";
    DYSNOMIA_PROPERTIES = "/etc/dysnomia/properties";
    DYSNOMIA_MODULES_PATH = searchPath cfg.extraModulePaths "/etc/dysnomia/modules";
  };

  disnix = config.services.disnix or { };
  disnixService = (disnix.enable or false) && (disnix.enableMultiUser or true);

  # The types the binary runs on any NixOS machine with no further service
  # (the base list of nixpkgs' module for upstream Dysnomia), for Disnix's
  # infrastructure model; the declared containers' types are added.
  baseTypes = [
    "echo"
    "fileset"
    "process"
    "wrapper"
    "systemd-unit"
    "sysvinit-script"
    "nixos-configuration"
  ];

  # Warnings for what a configuration written for nixpkgs' module still
  # uses, each naming what to write instead.
  compatWarnings =
    lib.optional options.services.dysnomia.enableAuthentication.isDefined "The option `services.dysnomia.enableAuthentication' has no effect with this Dysnomia and can be removed: the generated containers always log in as postgres (PostgreSQL, peer authentication) and root (MySQL, socket authentication), and no password is ever written into the configuration. For another login set services.dysnomia.containers.<name>.properties.postgresqlUsername or mysqlUsername, with services.dysnomia.containers.<name>.passwordFile."
    ++ lib.optional options.services.dysnomia.enableLegacyModules.isDefined "The option `services.dysnomia.enableLegacyModules' (also `dysnomia.enableLegacyModules') has no effect with this Dysnomia and can be removed: the process and wrapper modules are always built in."
    ++ lib.concatLists (
      lib.mapAttrsToList (
        name: c:
        lib.optional (c.legacyProperties != [ ])
          "services.dysnomia.containers.${name}: ${lib.concatStringsSep ", " c.legacyProperties} given in the form of nixpkgs' module for upstream Dysnomia; write services.dysnomia.containers.${name}.properties.${lib.head c.legacyProperties} (and so on) instead; the type is services.dysnomia.containers.${name}.type (default: the name)."
      ) cfg.containers
    );
in
{
  # nixpkgs ships a module for upstream (bash) Dysnomia under the same
  # option name; this one replaces it. What a configuration written for it
  # uses keeps working: its options are here, renamed (with a warning that
  # names the new one) or accepted with a warning saying what to write
  # instead; the old forms of containers and components are taken; and
  # what Disnix relies on is set up (dysnomia.target in the mutable unit
  # directory, DYSNOMIA_* variables, /etc/dysnomia, the package).
  disabledModules = [ "services/misc/dysnomia.nix" ];

  imports = [
    # nixpkgs' module declared this alias itself; it goes with it.
    (lib.mkRenamedOptionModule [ "dysnomia" ] [ "services" "dysnomia" ])
    (lib.mkRenamedOptionModule
      [ "services" "dysnomia" "extraContainerProperties" ]
      [ "services" "dysnomia" "containers" ]
    )
  ];

  options.services.dysnomia = {
    enable = lib.mkEnableOption "Dysnomia, which deploys and keeps the declared state components (databases, directories) and snapshots them before upgrades";

    package = mkOption {
      type = types.package;
      default = pkgs.callPackage ../nix/package.nix { };
      defaultText = literalExpression "pkgs.callPackage <dysnomia>/nix/package.nix { } (the flake's module uses the flake's own package)";
      description = "The Dysnomia package.";
    };

    stateDir = mkOption {
      type = types.str;
      default = "/var/state/dysnomia";
      example = "/srv/dysnomia";
      description = ''
        State directory: the snapshot store (snapshots, generations,
        checksums) and the activation and garbage markers. Put it on a disk
        with room for the dumps of every declared component. The module
        makes it a directory of root's, mode 0700 (systemd-tmpfiles, which
        also tightens an existing one); the service and the pre-switch
        check run with umask 077.
      '';
    };

    properties = mkOption {
      type = types.attrsOf propertyValue;
      default = { };
      example = {
        hostname = "db1";
        mem = 8192;
      };
      description = ''
        Machine properties, for Disnix's infrastructure model
        (/etc/dysnomia/properties, `dysnomia containers generate-expr`).
        `hostname`, `system` and `supportedTypes` (the types of the declared
        containers) are set by default. ${propertyValuesDoc}
      '';
    };

    generateContainers = mkOption {
      type = types.bool;
      default = true;
      description = ''
        Declare the container `postgresql-database` when
        {option}`services.postgresql.enable` is set (login user `postgres`
        by peer authentication, the server's port and client programs, and
        its package as {option}`services.dysnomia.containers.<name>.serverPackage`), `mysql-database` when
        {option}`services.mysql.enable` is set (socket authentication as
        `root` on /run/mysqld/mysqld.sock), `influx-database` for
        {option}`services.influxdb` (its HTTP port on 127.0.0.1),
        `ejabberd-dump` for {option}`services.ejabberd` (its user,
        directories and ejabberdctl settings) and `subversion-repository`
        for {option}`services.svnserve` (its base directory). Each
        attribute can be overridden in {option}`services.dysnomia.containers`.
      '';
    };

    containers = mkOption {
      type = types.attrsOf (types.coercedTo legacyContainer fromLegacyContainer (types.submodule containerModule));
      default = { };
      example = literalExpression ''
        {
          app-files = {
            type = "fileset";
            properties.targetDir = "/srv/app";
          };
          reporting = {
            type = "postgresql-database";
            properties = { postgresqlHost = "reports.internal"; postgresqlUsername = "dysnomia"; };
            passwordFile = "/run/keys/reporting-password";
          };
        }
      '';
      description = ''
        Containers: the places components are deployed into, by name. A
        container's name is what snapshots are filed under. The form of
        nixpkgs' module for upstream Dysnomia, a set of properties
        (`containers.mysql-database.mysqlPort = 3306;`), is still
        accepted, with a warning naming
        {option}`services.dysnomia.containers.<name>.properties`.
      '';
    };

    components = mkOption {
      # A bare derivation (nixpkgs' module's form) is the component itself.
      type = types.attrsOf (
        types.attrsOf (types.coercedTo types.package (c: { component = c; }) (types.submodule componentModule))
      );
      default = { };
      example = literalExpression ''
        {
          postgresql-database.app = {
            initSQL = [ ./schema.sql ];
            owner = "app";
          };
          mysql-database.shop.sql = "CREATE TABLE orders (id INT PRIMARY KEY);";
        }
      '';
      description = ''
        Components by container name, then component name: the units of
        state Dysnomia creates (on the first switch that declares them),
        snapshots and retires (when they are removed from the
        configuration: snapshotted, then marked garbage or deleted, see
        {option}`services.dysnomia.garbage.removed`). A derivation given
        instead of a set of options (`components.fileset.site = pkgs.site;`,
        as for nixpkgs' module) is taken as
        {option}`services.dysnomia.components.<container>.<name>.component`.
      '';
    };

    snapshots = {
      beforeUpgrade = mkOption {
        type = types.enum [
          "changed"
          "always"
          "never"
        ];
        default = "changed";
        description = ''
          What `nixos-rebuild switch` snapshots before it switches, while
          the old servers still run: the components the switch may affect
          (`changed`: component changed, container changed — type,
          properties or server package — or component removed), every
          active component (`always`), or nothing (`never`).
        '';
      };

      keep = mkOption {
        type = types.ints.unsigned;
        default = 0;
        example = 10;
        description = ''
          After the pre-upgrade snapshots, keep this many generations of
          each snapshotted component (0 keeps them all).
        '';
      };

      onFailure = mkOption {
        type = types.enum [
          "abort"
          "continue"
        ];
        default = "abort";
        description = ''
          A pre-upgrade snapshot that fails aborts the switch before
          anything is stopped (`abort`; run with NIXOS_NO_CHECK=1 to switch
          anyway), or is reported and the switch goes on (`continue`).
        '';
      };

      restoreAfterUpgrade = mkOption {
        type = types.bool;
        default = true;
        description = ''
          When a switch changes a container's server package and the new
          server lacks a component's database (a PostgreSQL major upgrade
          starts on a new, empty data directory), create it by restoring
          the snapshot pre-switch took of it before the upgrade, instead of
          running its init scripts; `nixos-rebuild boot` does the same at
          the next boot. A database that exists in the new server and holds
          data (`pg_upgrade` was run, or MariaDB upgraded its data in place)
          is left alone. Without that snapshot, or with a damaged one, the
          component fails (dysnomia.service fails) and no empty database is
          created. `false` creates the database from its init scripts, as
          for a new component.
        '';
      };

      onBoot = mkOption {
        type = types.enum [
          "snapshot"
          "skip"
        ];
        default = "snapshot";
        description = ''
          `nixos-rebuild boot` makes a system that starts at the next boot,
          whose servers may upgrade the data when they start: snapshot as
          for a switch (`snapshot`) or do nothing (`skip`).
        '';
      };
    };

    garbage.removed = mkOption {
      type = types.enum [
        "keep"
        "delete"
      ];
      default = "keep";
      description = ''
        What the switch does with a component removed from the
        configuration, after snapshotting and deactivating it: keep its
        state, marked as garbage (`dysnomia containers collect-garbage`
        deletes it later), or delete it at once.
      '';
    };

    extraModulePaths = mkOption {
      type = types.listOf types.path;
      default = [ ];
      example = [ "/srv/dysnomia-modules" ];
      description = ''
        Directories searched for external (executable) modules, before
        /etc/dysnomia/modules and the native modules
        (DYSNOMIA_MODULES_PATH).
      '';
    };

    extraContainerPaths = mkOption {
      type = types.listOf types.path;
      default = [ ];
      example = [ "/srv/dysnomia-containers" ];
      description = ''
        Directories of further container files (`key=value` properties and
        `type=`), searched before /etc/dysnomia/containers by `dysnomia
        --container NAME`, `dysnomia containers …` and Disnix
        (DYSNOMIA_CONTAINERS_PATH). Their containers are not part of the
        system config: `nixos-rebuild switch` does not deploy into them.
      '';
    };

    # Options of nixpkgs' module for upstream Dysnomia that have no
    # counterpart here: accepted (so that a configuration written for it
    # evaluates) and warned about, naming what to write instead. They have
    # no default: only a definition is looked at.
    enableAuthentication = mkOption {
      type = types.bool;
      visible = false;
      description = "Of nixpkgs' module for upstream Dysnomia; no effect here (see the warning).";
    };

    enableLegacyModules = mkOption {
      type = types.bool;
      visible = false;
      description = "Of nixpkgs' module for upstream Dysnomia; no effect here (see the warning).";
    };
  };

  config = mkIf cfg.enable (mkMerge [
    (mkIf (cfg.generateContainers && pgEnabled) {
      services.dysnomia.containers.postgresql-database = {
        type = mkDefault "postgresql-database";
        properties = {
          postgresqlUsername = mkDefault "postgres";
          postgresqlPort = mkDefault (toString config.services.postgresql.settings.port);
          # The running server's own client programs: pre-switch dumps
          # with the old server's pg_dump, switch loads with the new one's.
          postgresqlBinDir = mkDefault "${pgPackage}/bin";
        };
        serverPackage = mkDefault pgPackage;
      };
    })

    (mkIf (cfg.generateContainers && mysqlEnabled) {
      services.dysnomia.containers.mysql-database = {
        type = mkDefault "mysql-database";
        properties = {
          mysqlSocket = mkDefault (config.services.mysql.settings.mysqld.socket or "/run/mysqld/mysqld.sock");
          mysqlUsername = mkDefault "root";
          # As for PostgreSQL: pre-switch dumps with the running server's
          # mariadb-dump (or MySQL's mysqldump), not the candidate's.
          mysqlBinDir = mkDefault "${config.services.mysql.package}/bin";
        };
        serverPackage = mkDefault config.services.mysql.package;
      };
    })

    # The state servers nixpkgs has modules for, with the settings their
    # units run with (nixos/modules/services/databases/influxdb.nix,
    # services/networking/ejabberd.nix, services/misc/svnserve.nix).
    (mkIf (cfg.generateContainers && serviceEnabled "influxdb") {
      services.dysnomia.containers.influx-database = {
        type = mkDefault "influx-database";
        properties = {
          influxdbHost = mkDefault "127.0.0.1";
          influxdbHttpPort = mkDefault (portOf (config.services.influxdb.extraConfig.http.bind-address or ":8086"));
          influxdbPort = mkDefault (portOf (config.services.influxdb.extraConfig.bind-address or ":8088"));
          influxdbUsername = mkDefault config.services.influxdb.user;
        };
        serverPackage = mkDefault config.services.influxdb.package;
      };
    })

    (mkIf (cfg.generateContainers && serviceEnabled "ejabberd") (
      let
        ej = config.services.ejabberd;
      in
      {
        services.dysnomia.containers.ejabberd-dump = {
          type = mkDefault "ejabberd-dump";
          properties = {
            ejabberdUser = mkDefault ej.user;
            ejabberdSpoolDir = mkDefault (toString ej.spoolDir);
            ejabberdLogsDir = mkDefault (toString ej.logsDir);
            ejabberdctl = mkDefault "${ej.package}/bin/ejabberdctl";
            # The same file nixpkgs' unit passes with --ctl-config.
            ejabberdctlConfig = mkDefault "${pkgs.writeText "ejabberdctl.cfg" "ERL_EPMD_ADDRESS=127.0.0.1\n${ej.ctlConfig}\n"}";
          }
          // lib.optionalAttrs (ej.configFile != null) { ejabberdConfig = mkDefault (toString ej.configFile); }
          // lib.optionalAttrs (ej.configDir != null) { ejabberdConfigDir = mkDefault (toString ej.configDir); };
          serverPackage = mkDefault ej.package;
        };
      }
    ))

    (mkIf (cfg.generateContainers && serviceEnabled "svnserve") {
      services.dysnomia.containers.subversion-repository = {
        type = mkDefault "subversion-repository";
        properties.svnBaseDir = mkDefault (toString config.services.svnserve.svnBaseDir);
        # svnadmin and svnlook, from the package nixpkgs' svnserve runs.
        serverPackage = mkDefault pkgs.subversion;
      };
    })

    # The empty containers nixpkgs' module declared for Disnix, whose
    # infrastructure capture lists them.
    (mkIf (cfg.generateContainers && (disnix.enable or false)) {
      services.dysnomia.containers = {
        process = { };
        wrapper = { };
      };
    })

    {
      services.dysnomia.properties = {
        hostname = mkDefault config.networking.hostName;
        system = mkDefault pkgs.stdenv.hostPlatform.system;
        supportedTypes = mkDefault (lib.unique (baseTypes ++ lib.mapAttrsToList (_: c: c.type) cfg.containers));
      };

      warnings = compatWarnings;

      # Disnix's systemd-unit deployments (and this Dysnomia's systemd-unit
      # module) link units into /etc/systemd-mutable/system and make
      # dysnomia.target want them; disnix.service wants dysnomia.target.
      # The target is written once, when missing, so that what was linked
      # into dysnomia.target.wants stays.
      boot.extraSystemdUnitPaths = [ "/etc/systemd-mutable/system" ];
      system.activationScripts.dysnomia = ''
        mkdir -p /etc/systemd-mutable/system
        if [ ! -e /etc/systemd-mutable/system/dysnomia.target ]; then
          printf '%s\n' '[Unit]' 'Description=Units deployed by Dysnomia' > /etc/systemd-mutable/system/dysnomia.target
        fi
      '';

      assertions = import ./checks.nix {
        inherit (builtins) storeDir;
        inherit (cfg)
          stateDir
          properties
          containers
          components
          ;
      };

      system.build.dysnomiaConfig = configFile;

      # The state directory holds every component's dumps: root's alone.
      # `d` creates it and, when it exists, resets its mode and owner.
      systemd.tmpfiles.settings."10-dysnomia".${cfg.stateDir}.d = {
        mode = "0700";
        user = "root";
        group = "root";
      };

      environment.systemPackages = [ cfg.package ];
      environment.variables = dysnomiaEnv;

      # disnix.service gets DYSNOMIA_CONTAINERS_PATH and
      # DYSNOMIA_MODULES_PATH from environment.variables (nixpkgs'
      # disnix.nix) but not the state directory: without it Disnix's
      # snapshots would go to the default, not to stateDir.
      systemd.services.disnix = mkIf disnixService {
        environment.DYSNOMIA_STATEDIR = cfg.stateDir;
      };

      environment.etc = {
        "dysnomia/system.json".source = configFile;
        "dysnomia/properties".text = upstreamFiles.properties;
      }
      // lib.mapAttrs' (
        name: text: lib.nameValuePair "dysnomia/containers/${name}" { inherit text; }
      ) upstreamFiles.containers
      // lib.listToAttrs (
        lib.concatLists (
          lib.mapAttrsToList (
            containerName: comps:
            lib.mapAttrsToList (
              name: comp: lib.nameValuePair "dysnomia/components/${containerName}/${name}" { source = comp.path; }
            ) comps
          ) resolvedComponents
        )
      );

      systemd.services.dysnomia = {
        description = "Dysnomia: create the declared state components, retire removed ones";
        wantedBy = [ "multi-user.target" ];
        # Ordered after the servers and pulling them in, but not Requires=:
        # a restart of a server must not stop this unit.
        after = serverUnits;
        wants = serverUnits;
        path = serverPackages;
        environment = dysnomiaEnv;
        restartIfChanged = true;
        serviceConfig = {
          Type = "oneshot";
          RemainAfterExit = true;
          # The config's store path is part of the unit: a changed config
          # is a changed unit, which switch-to-configuration restarts.
          ExecStart = "${dysnomia} system switch --config ${configFile}";
          # Dumps, snapshots and the files modules write are private to
          # root (the store makes its own files 0600 whatever the umask;
          # this covers what modules and their tools create).
          UMask = "0077";
          # Runs as root: it runs client programs as the database login
          # users (setuid), writes the state directory, and fileset or
          # external modules may write anywhere they are told to (and
          # restore set-group-id directories). The hardening below takes
          # nothing those need; each setting is a default, so a module that
          # needs more can relax it.
          # ProtectSystem = "full" would make /etc read-only, where external
          # modules such as systemd-unit write; true protects /usr and /boot.
          ProtectSystem = mkDefault true;
          PrivateTmp = mkDefault true;
          PrivateDevices = mkDefault true;
          ProtectKernelTunables = mkDefault true;
          ProtectKernelModules = mkDefault true;
          ProtectKernelLogs = mkDefault true;
          ProtectControlGroups = mkDefault true;
          ProtectClock = mkDefault true;
          ProtectHostname = mkDefault true;
          RestrictRealtime = mkDefault true;
          RestrictNamespaces = mkDefault true;
          LockPersonality = mkDefault true;
          SystemCallArchitectures = mkDefault "native";
          RestrictAddressFamilies = mkDefault [
            "AF_UNIX"
            "AF_INET"
            "AF_INET6"
          ];
        };
      };
    }

    # system.preSwitchChecks exists since nixpkgs 24.11; defining it on an
    # older nixpkgs would fail with a bare "option does not exist", so it is
    # set only where it exists and an assertion names the minimum instead.
    {
      assertions = [
        {
          assertion = options.system ? preSwitchChecks;
          message = "services.dysnomia needs nixpkgs 24.11 or later: it snapshots before a switch from system.preSwitchChecks, which older nixpkgs does not have.";
        }
      ];
    }
    (lib.optionalAttrs (options.system ? preSwitchChecks) {
      # Runs from the new system's switch-to-configuration before anything
      # is stopped, with the new toplevel as $1 and, since nixpkgs 25.05,
      # the action (switch, boot, test, dry-activate, check) as $2; before
      # 25.05 the action is only in NIXOS_ACTION, where `dysnomia system
      # pre-switch` finds it when no second argument is given, hence "$@".
      # A non-zero exit aborts the switch (snapshots.onFailure decides
      # whether a failed snapshot is one). The server packages' client
      # programs go on PATH for the modules that look there
      # (mysql-database).
      # umask 077: what the snapshots write is root's alone, as in the
      # service (the check runs in a subshell of its own).
      system.preSwitchChecks.dysnomia =
        ''
          umask 077
        ''
        + lib.optionalString (serverPackages != [ ]) ''
          export PATH=${lib.makeBinPath serverPackages}''${PATH:+":$PATH"}
        ''
        + ''
          ${dysnomia} system pre-switch "$@"
        '';
    })
  ]);
}
