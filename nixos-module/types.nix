# What the NixOS module knows about the native container types, in one
# place, with builtins only (tests/nix evaluates it without nixpkgs).
#
# Keep in sync with the modules in internal/modules/* (property names and
# init-script directories) and docs/system-config.md (name rules).
rec {
  # Property that names the owner of a component's state, per type.
  owners = {
    postgresql-database = "postgresqlOwner";
    sqlite-database = "sqliteOwner";
  };

  # Property naming the file that holds the server password, per type.
  passwordFiles = {
    postgresql-database = "postgresqlPasswordFile";
    mysql-database = "mysqlPasswordFile";
  };

  # Directory of a component that holds its init scripts (*.sql, loaded in
  # sorted order when the database is created), per type.
  scriptDirs = {
    postgresql-database = "postgresql-databases";
    mysql-database = "mysql-databases";
    sqlite-database = "sqlite-databases";
  };

  ownerProperty = type: owners.${type} or null;
  passwordProperty = type: passwordFiles.${type} or null;
  scriptDir = type: scriptDirs.${type} or null;

  # docs/system-config.md: container and component names, property names.
  namePattern = "[A-Za-z0-9_][A-Za-z0-9._+-]*";
  propertyPattern = "[A-Za-z_][A-Za-z0-9_]*";
  isName = s: builtins.match namePattern s != null;
  isPropertyName = s: builtins.match propertyPattern s != null;

  # Properties that hold a secret in clear text: the module refuses them and
  # names the option to use instead.
  clearSecrets = {
    postgresqlPassword = "passwordFile";
    mysqlPassword = "passwordFile";
  };

  # The name Dysnomia knows a path by (config.NameOf): its base name,
  # without a leading "<32 nixbase32 characters>-" when the path is in the
  # store.
  nameOf = storeDir: path:
    let
      p = toString path;
      base = baseNameOf p;
      hashed = builtins.match "[0-9abcdfghijklmnpqrsvwxyz]{32}-(.+)" base;
    in
    if inStore storeDir p && hashed != null then builtins.head hashed else base;

  # Whether path lies in the store (a secret must not).
  inStore = storeDir: path:
    let p = toString path; in
    p == storeDir || builtins.substring 0 (builtins.stringLength storeDir + 1) p == storeDir + "/";

  isAbsolute = path: builtins.substring 0 1 (toString path) == "/";
}
