#!/bin/sh
# deb prerm / rpm %preun: remove hearthd and the /usr/bin/hearth link with the package, but not on
# upgrade (the new package's after-install upgrades it in place, and environments keep running).
case "$1" in
  upgrade | failed-upgrade | 1) exit 0 ;; # deb: upgrade; rpm: $1 = 1 means another version remains
esac
script=/opt/Hearth/resources/hearth-helper/hearth-install.sh
/bin/bash "$script" unlink-cli --link /usr/bin/hearth || true
/bin/bash "$script" uninstall || true
exit 0
