#!/bin/sh
# deb prerm / rpm %preun: remove hearthd with the package, but not on upgrade (the new
# package's after-install upgrades it in place, and environments keep running).
case "$1" in
  upgrade | failed-upgrade | 1) exit 0 ;; # deb: upgrade; rpm: $1 = 1 means another version remains
esac
/bin/bash /opt/Hearth/resources/hearth-helper/hearth-install.sh uninstall || true
exit 0
