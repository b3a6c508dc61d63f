# Mirrors the declarations of nixpkgs
# nixos/modules/system/boot/systemd/tmpfiles.nix (pinned rev):
# systemd.tmpfiles.rules (listOf str, default [ ]) and
# systemd.tmpfiles.settings (config file name -> path -> type -> entry,
# each entry with type (default: the attribute name), mode, user, group,
# age (default "-") and argument (default "")).
{ lib, ... }:
let
  inherit (lib) mkOption types;
  dash = mkOption {
    type = types.str;
    default = "-";
  };
  entry = types.submodule (
    { name, ... }:
    {
      options = {
        type = mkOption {
          type = types.str;
          default = name;
        };
        mode = dash;
        user = dash;
        group = dash;
        age = dash;
        argument = mkOption {
          type = types.str;
          default = "";
        };
      };
    }
  );
in
{
  options.systemd.tmpfiles = {
    rules = mkOption {
      type = types.listOf types.str;
      default = [ ];
    };
    settings = mkOption {
      type = types.attrsOf (types.attrsOf (types.attrsOf entry));
      default = { };
    };
  };
}
