#!/bin/sh
# deb postinst / rpm %post: install or upgrade hearthd with the app's own install script.
# A package must not fail to install because the helper could not start (no systemd in a
# container, say): then the app's "Install helper" button explains and retries.
#
# This file replaces electron-builder's own after-install template, so nothing of electron-builder
# puts a link into /usr/bin: the app is started from its menu entry (/opt/Hearth/hearth-app), and
# /usr/bin/hearth is the command line, a link to /usr/lib/hearth/hearth that the install script
# installs. The link is made even when the helper could not be installed now, so the package always
# provides the command; "Install helper" puts the file it points at. before-remove.sh removes it.
script=/opt/Hearth/resources/hearth-helper/hearth-install.sh
if ! /bin/bash "$script" install; then
  echo "Hearth: the helper (hearthd) was not installed now; open Hearth and click \"Install helper\"." >&2
fi
/bin/bash "$script" link-cli --link /usr/bin/hearth ||
  echo "Hearth: /usr/bin/hearth was not linked to the hearth command (see above)." >&2
exit 0
