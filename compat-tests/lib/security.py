"""Test-only TLS material and SASL users for the compat suites' brokers.

Every broker the harness starts gets, besides its PLAINTEXT listener, SSL,
SASL_PLAINTEXT and SASL_SSL listeners on other free ports. Certificates are
generated at test time with the openssl command (never committed): a CA, a
server certificate for localhost/127.0.0.1, a client certificate it signed
(principal User:CN=strom-client,O=Strom Test), and a client certificate from
another, untrusted CA. Tests find everything through STROM_* environment
variables (see ``environment``).

The broker runs the ACL authorizer. Its super users are the PLAINTEXT
clients (User:ANONYMOUS, so the older tests run unchanged), the SASL user
``strom`` and the trusted client certificate; ``alice`` and ``bob`` have no
ACLs unless a test creates them.
"""

import os
import subprocess

USERS = {"strom": "strom-secret", "alice": "alice-secret", "bob": "bob-secret"}
CLIENT_SUBJECT = "/O=Strom Test/CN=strom-client"
CLIENT_PRINCIPAL = "User:CN=strom-client,O=Strom Test"
SUPER_USERS = ["User:ANONYMOUS", "User:strom", CLIENT_PRINCIPAL]


def _openssl(*args, cwd):
    subprocess.run(["openssl"] + list(args), cwd=cwd, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _ca(directory, name):
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
             "-subj", "/O=Strom Test/CN=%s" % name, "-keyout", name + "-key.pem", "-out", name + ".pem",
             "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
             cwd=directory)


def _leaf(directory, name, subject, ca, extensions):
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", subject,
             "-keyout", name + "-key.pem", "-out", name + ".csr", cwd=directory)
    with open(os.path.join(directory, name + ".ext"), "w") as f:
        f.write(extensions)
    _openssl("x509", "-req", "-in", name + ".csr", "-CA", ca + ".pem", "-CAkey", ca + "-key.pem",
             "-CAcreateserial", "-days", "2", "-out", name + ".pem", "-extfile", name + ".ext", cwd=directory)
    # Java's PEM keystore wants key and chain in one file.
    with open(os.path.join(directory, name + "-keystore.pem"), "w") as out:
        for part in (name + "-key.pem", name + ".pem"):
            with open(os.path.join(directory, part)) as f:
                out.write(f.read())


def generate(directory):
    """Writes the CA, server and client certificates into ``directory``."""
    os.makedirs(directory, exist_ok=True)
    _ca(directory, "ca")
    _ca(directory, "untrusted-ca")
    _leaf(directory, "server", "/O=Strom Test/CN=localhost", "ca",
          "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n")
    _leaf(directory, "client", CLIENT_SUBJECT, "ca", "extendedKeyUsage=clientAuth\n")
    _leaf(directory, "untrusted-client", "/O=Strom Test/CN=intruder", "untrusted-ca",
          "extendedKeyUsage=clientAuth\n")


class SecurityListeners:
    """Ports, certificates and users of one broker's secured listeners."""

    def __init__(self, directory, free_port):
        self.directory = directory
        self.ssl_port = free_port()
        self.sasl_plaintext_port = free_port()
        self.sasl_ssl_port = free_port()
        generate(directory)

    def path(self, name):
        return os.path.join(self.directory, name)

    def broker_env(self, plaintext_port):
        """STROM_* settings for the broker (these replace --listen)."""
        listeners = ",".join([
            "PLAINTEXT://127.0.0.1:%d" % plaintext_port,
            "SSL://127.0.0.1:%d" % self.ssl_port,
            "SASL_PLAINTEXT://127.0.0.1:%d" % self.sasl_plaintext_port,
            "SASL_SSL://127.0.0.1:%d" % self.sasl_ssl_port,
        ])
        return {
            "STROM_LISTENERS": listeners,
            "STROM_SSL_CERTIFICATE_CHAIN_FILE": self.path("server.pem"),
            "STROM_SSL_PRIVATE_KEY_FILE": self.path("server-key.pem"),
            "STROM_SSL_TRUSTSTORE_FILE": self.path("ca.pem"),
            "STROM_SSL_CLIENT_AUTH": "requested",
            "STROM_SASL_ENABLED_MECHANISMS": "PLAIN,SCRAM-SHA-256,SCRAM-SHA-512",
            "STROM_SASL_USERS": ",".join("%s:%s" % u for u in USERS.items()),
            "STROM_AUTHORIZER": "standard",
            "STROM_SUPER_USERS": ";".join(SUPER_USERS),
            # Failed logins in the tests should not slow them down much, nor
            # lock the test address out.
            "STROM_CONNECTION_FAILED_AUTHENTICATION_DELAY_MS": "20",
            "STROM_MAX_FAILED_AUTHENTICATIONS_PER_MINUTE": "0",
        }

    def environment(self):
        """What tests read: bootstrap addresses, files, users."""
        env = {
            "STROM_SSL_BOOTSTRAP": "127.0.0.1:%d" % self.ssl_port,
            "STROM_SASL_PLAINTEXT_BOOTSTRAP": "127.0.0.1:%d" % self.sasl_plaintext_port,
            "STROM_SASL_SSL_BOOTSTRAP": "127.0.0.1:%d" % self.sasl_ssl_port,
            "STROM_CA_FILE": self.path("ca.pem"),
            "STROM_CLIENT_CERT_FILE": self.path("client.pem"),
            "STROM_CLIENT_KEY_FILE": self.path("client-key.pem"),
            "STROM_CLIENT_KEYSTORE_PEM": self.path("client-keystore.pem"),
            "STROM_CLIENT_PRINCIPAL": CLIENT_PRINCIPAL,
            "STROM_UNTRUSTED_CA_FILE": self.path("untrusted-ca.pem"),
            "STROM_UNTRUSTED_CERT_FILE": self.path("untrusted-client.pem"),
            "STROM_UNTRUSTED_KEY_FILE": self.path("untrusted-client-key.pem"),
            "STROM_UNTRUSTED_KEYSTORE_PEM": self.path("untrusted-client-keystore.pem"),
        }
        for name, password in USERS.items():
            env["STROM_SASL_%s_PASSWORD" % name.upper()] = password
        return env
