# The dysnomia binary. go.mod says go 1.25.0, so the builder is Go 1.25's
# (buildGo125Module); the flake calls this file with the pinned nixpkgs.
{
  lib,
  stdenv,
  buildGo125Module,
  installShellFiles,
  version ? "0.1.0-dev",
}:
let
  root = ../.;
in
buildGo125Module {
  pname = "dysnomia";
  inherit version;

  # Go sources only: every .go file (tests included: `go mod vendor` also
  # vendors what the main module's tests import, so the file set decides
  # the vendor directory and therefore vendorHash), go.mod and go.sum.
  # nix/update-vendor-hash.sh vendors exactly this set. (A go:embed of a
  # non-Go file would have to be added here.)
  src = lib.fileset.toSource {
    inherit root;
    fileset = lib.fileset.unions [
      (root + "/go.mod")
      (root + "/go.sum")
      (lib.fileset.fileFilter (file: file.hasExt "go") root)
    ];
  };

  # The NAR hash (SRI, sha256) of the directory `go mod vendor` writes for
  # the source above. Refresh it with nix/update-vendor-hash.sh after a
  # change of go.mod, go.sum or of the imports; tests/nix checks it.
  vendorHash = "sha256-XVv6K2f2TKJGGnUxk9j2jk7GnHeSat6VXhTlYKiuI2w=";

  subPackages = [ "cmd/dysnomia" ];

  # Pure Go (pgx, go-sql-driver, modernc.org/sqlite): a static binary with
  # no libc, and os/user reads /etc/passwd and /etc/group itself.
  env.CGO_ENABLED = 0;

  ldflags = [
    "-s"
    "-w"
    "-X main.version=${version}"
  ];

  # The test suite starts real PostgreSQL and MariaDB servers (as the
  # postgres user, from a root test process) and runs the real Nix
  # evaluator; the build sandbox has neither root nor those servers. The
  # tests run in CI (.ci/run) and, against a whole NixOS system, in the
  # flake's VM checks (tests/nixos).
  doCheck = false;

  nativeBuildInputs = [ installShellFiles ];

  # The binary answers to the names of upstream's tools too. Its manual page
  # and shell completions are generated from its own command grammar
  # (`dysnomia man`, `dysnomia completion SHELL`), so they cannot drift from
  # it; the page's date is SOURCE_DATE_EPOCH, which keeps it reproducible.
  postInstall = lib.optionalString (stdenv.buildPlatform.canExecute stdenv.hostPlatform) ''
    "$out/bin/dysnomia" man > dysnomia.1
    installManPage dysnomia.1
    installShellCompletion --cmd dysnomia \
      --bash <("$out/bin/dysnomia" completion bash) \
      --zsh <("$out/bin/dysnomia" completion zsh) \
      --fish <("$out/bin/dysnomia" completion fish)
  '' + ''
    ln -s dysnomia "$out/bin/dysnomia-containers"
    ln -s dysnomia "$out/bin/dysnomia-snapshots"
    for tool in addusers delusers addgroups delgroups; do
      ln -s dysnomia "$out/bin/dysnomia-$tool"
    done
    # The files Disnix's tooling reads: the shell helper library external
    # modules and Disnix's tests source, and the container expression
    # disnixos imports.
    install -Dm644 ${../share/dysnomia/util} "$out/share/dysnomia/util"
    install -Dm644 ${../share/dysnomia/generate-containers.nix} "$out/share/dysnomia/generate-containers.nix"
  '';

  doInstallCheck = true;
  installCheckPhase = ''
    runHook preInstallCheck
    "$out/bin/dysnomia" version | grep -F -- ${lib.escapeShellArg version}
    "$out/bin/dysnomia-snapshots" --help >/dev/null
    "$out/bin/dysnomia-containers" --help >/dev/null
    "$out/bin/dysnomia-addusers" --help >/dev/null
    test -e "$out/share/man/man1/dysnomia.1.gz"
    test -e "$out/share/bash-completion/completions/dysnomia.bash"
    sh -n "$out/share/dysnomia/util"
    runHook postInstallCheck
  '';

  meta = {
    description = "Deploy and keep mutable state (databases, directories) the way Nix deploys packages";
    longDescription = ''
      Dysnomia creates the databases and other units of state a NixOS
      configuration declares, snapshots them into a content-addressed store
      with generations and checksums, snapshots them before an upgrade can
      touch them, and moves snapshots between machines. It is a drop-in
      replacement for upstream Dysnomia as driven by Disnix.
    '';
    mainProgram = "dysnomia";
    platforms = lib.platforms.linux;
  };
}
