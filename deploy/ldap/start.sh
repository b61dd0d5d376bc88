#!/bin/sh
# Starts the compose stack's slapd (deploy/ldap/Dockerfile). At the first start the demo LDIF is loaded online,
# over the local socket as the admin, so the memberof overlay fills memberOf (slapadd would bypass it); the
# password goes through a 0600 file, never a command line.
set -eu
: "${LDAP_ADMIN_PASSWORD:?is not set: run sh scripts/compose-env.sh beside docker-compose.yml (it writes .env)}"
mkdir -p /run/slapd
chown openldap:openldap /run/slapd /var/lib/ldap
conf=/run/slapd/slapd.conf
umask 077
sed "s|@ROOTPW@|$(slappasswd -s "$LDAP_ADMIN_PASSWORD")|" /etc/ldap/demo/slapd.conf >"$conf"
chown openldap "$conf"
if [ ! -e /var/lib/ldap/data.mdb ]; then
  slapd -f "$conf" -h ldapi:/// -u openldap -g openldap
  pw=/run/slapd/seed.pw
  printf '%s' "$LDAP_ADMIN_PASSWORD" >"$pw"
  admin() { ldapadd -x -H ldapi:/// -D cn=admin,dc=example,dc=org -y "$pw" "$@" >/dev/null; }
  until ldapsearch -x -H ldapi:/// -b "" -s base >/dev/null 2>&1; do sleep 0.2; done
  printf 'dn: dc=example,dc=org\nobjectClass: dcObject\nobjectClass: organization\no: Example\ndc: example\n' | admin
  for f in /etc/ldap/demo/seed/*.ldif; do admin -f "$f"; done
  rm -f "$pw"
  kill "$(cat /run/slapd/slapd.pid)"
  while [ -e /run/slapd/slapd.pid ]; do sleep 0.2; done
  echo "seeded the demo directory from /etc/ldap/demo/seed"
fi
exec slapd -d 0 -f "$conf" -h "ldap://:${LDAP_PORT:-389}/ ldapi:///" -u openldap -g openldap
