# A stand-in for the package set: every package and builder is a stub
# derivation (an attribute set with type = "derivation", a name and a store
# path made from its name and inputs) that keeps what it was built from
# (text, script, paths) for the tests to read. Nothing is built.
{ lib }:
let
  storeDir = builtins.storeDir;
  # 32 characters of nixbase32 (no e, o, u, t), as store paths have.
  hash =
    s:
    builtins.replaceStrings [ "e" ] [ "z" ] (builtins.substring 0 32 (builtins.hashString "sha256" s));
  inputString =
    attrs:
    builtins.concatStringsSep "\n" (
      map (
        n:
        let
          v = attrs.${n};
        in
        if builtins.isString v || lib.isDerivation v || builtins.isInt v then "${n}=${toString v}" else n
      ) (builtins.attrNames attrs)
    );
  drv =
    name: attrs:
    let
      self =
        attrs
        // {
          type = "derivation";
          inherit name;
          outPath = "${storeDir}/${hash (name + "\n" + inputString attrs)}-${name}";
          drvPath = "${storeDir}/${hash ("drv " + name + "\n" + inputString attrs)}-${name}.drv";
          outputs = [ "out" ];
          out = self;
          override = f: drv name (attrs // (f attrs));
          overrideAttrs = f: drv name (attrs // (f attrs));
        };
    in
    self;
  postgresql =
    version:
    let
      major = lib.head (lib.splitString "." version);
      self = drv "postgresql-${version}" {
        inherit version;
        psqlSchema = major;
        pname = "postgresql";
      };
    in
    self
    // {
      withJIT = self;
      withoutJIT = self;
      withPackages = f: self;
    };
in
{
  inherit drv;
  stdenv = {
    hostPlatform.system = "x86_64-linux";
    buildPlatform.system = "x86_64-linux";
    buildPlatform.canExecute = platform: true;
    mkDerivation = attrs: drv (attrs.name or "${attrs.pname}-${attrs.version}") attrs;
  };
  callPackage = file: args: drv "dysnomia-0.1.0" {
    file = toString file;
    inherit args;
  };
  writeText = name: text: drv name { inherit text; };
  writeTextFile =
    {
      name,
      text,
      checkPhase ? "",
      executable ? false,
      destination ? "",
    }:
    drv name { inherit text checkPhase destination; };
  writeShellScript = name: text: drv name { inherit text; };
  writeShellApplication =
    {
      name,
      text,
      runtimeInputs ? [ ],
    }:
    drv name {
      inherit text;
      meta.mainProgram = name;
    };
  runCommand =
    name: env: script:
    drv name (env // { inherit script; });
  symlinkJoin = { name, paths }: drv name { paths = map toString paths; };
  postgresql_16 = postgresql "16.9";
  postgresql_17 = postgresql "17.5";
  mariadb = drv "mariadb-11.4.7" { pname = "mariadb"; };
  influxdb = drv "influxdb-1.10.7" { pname = "influxdb"; };
  ejabberd = drv "ejabberd-24.12" { pname = "ejabberd"; };
  subversion = drv "subversion-1.14.5" { pname = "subversion"; };
  nix = drv "nix-2.28.4" { };
  # nixpkgs' package of upstream Dysnomia and of Disnix.
  dysnomia = drv "dysnomia-0.10.2" { };
  disnix = drv "disnix-0.10.2" { };
  DisnixWebService = drv "DisnixWebService-0.10.1" { };
}
