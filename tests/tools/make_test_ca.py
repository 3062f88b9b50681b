"""Makes a throwaway certificate authority and a server certificate it signed,
for the HTTPS tests, with the openssl command-line tool (Debian's openssl).

usage: make_test_ca.py DIR
Writes into DIR: ca.pem (the CA, what a client is told to trust), server.pem
and server.key (for 127.0.0.1 and localhost, signed by the CA), and
other-ca.pem (a second CA that signed nothing here: trusting only it must
reject the server). Keys are P-256, valid for two days; nothing is reused
between runs.
"""
import os
import subprocess
import sys

CONFIG = """
[req]
distinguished_name = dn
prompt = no
[dn]
CN = {cn}
[ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[server]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1, DNS:localhost
authorityKeyIdentifier = keyid
"""


def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def make_ca(out, name, cn):
    with open(os.path.join(out, name + ".cnf"), "w") as f:
        f.write(CONFIG.format(cn=cn))
    openssl("req", "-x509", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", name + ".key", "-out", name + ".pem", "-days", "2", "-config", name + ".cnf",
            "-extensions", "ca", cwd=out)


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    make_ca(out, "ca", "weightstream test CA")
    make_ca(out, "other-ca", "weightstream other test CA")
    with open(os.path.join(out, "server.cnf"), "w") as f:
        f.write(CONFIG.format(cn="127.0.0.1"))
    openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", "server.key", "-out", "server.csr", "-config", "server.cnf", cwd=out)
    openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
            "-out", "server.pem", "-days", "2", "-extfile", "server.cnf", "-extensions", "server", cwd=out)


if __name__ == "__main__":
    main()
