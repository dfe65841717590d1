"""A SAML 2.0 identity provider for the tests, built on pysaml2 (with Debian's xmlsec1 signing).

Usage: saml_idp.py. Prints `listening on <port>`, then serves:
- GET  /metadata      the IdP's metadata (entity ID, HTTP-Redirect sign-on URL, signing cert;
                      with `?with_rogue=1` the rogue key's certificate too);
- POST /_sp           Beacon's SP metadata (the body), so pysaml2 knows the SP it answers;
- POST /_next         what the next response says (JSON): email, groups, subject, mode,
                      lifetime_minutes, in_response_to (override);
- GET  /sso           an AuthnRequest (HTTP-Redirect binding): answers a page that posts the
                      response to the SP's ACS (or, with `interactive` set by /_next, a sign-in
                      form first, for the browser test);
- POST /sso/login     the sign-in form's submission;
- POST /_unsolicited  an IdP-initiated response (no InResponseTo) as the same posting page;
- GET  /launch        the same for a browser (the IdP's app tile): entity_id, acs_url, email.

Modes of the next response: `signed_assertion` (default), `signed_response`, `unsigned`,
`other_audience` (a response for another SP), `rogue_key` (signed with a key Beacon did not
pin), `sha1` (signed with RSA-SHA1, which Beacon refuses), `wrapped` (an unsigned assertion for `victim@…` put before the signed one: XML signature
wrapping).
"""

import html
import json
import os
import re
import sys
import tempfile
import urllib.parse
import warnings
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# pysaml2 imports a cipher mode that cryptography marks as moving; not used here.
warnings.simplefilter("ignore")

from cryptography import x509  # noqa: E402
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from saml2 import BINDING_HTTP_REDIRECT, saml
from saml2.config import IdPConfig
from saml2.metadata import create_metadata_string
from saml2.saml import NAMEID_FORMAT_EMAILADDRESS
from saml2.server import Server

WORK = tempfile.mkdtemp(prefix="beacon-saml-idp-")
OTHER_SP = "https://other-sp.test/metadata"


def key_pair(name):
    """A fresh RSA key and self-signed certificate, as PEM files."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.now(timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=365))
        .sign(key, hashes.SHA256())
    )
    key_file = os.path.join(WORK, f"{name}.key")
    cert_file = os.path.join(WORK, f"{name}.crt")
    with open(key_file, "wb") as f:
        f.write(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.TraditionalOpenSSL,
                serialization.NoEncryption(),
            )
        )
    with open(cert_file, "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))
    return key_file, cert_file


KEYS = {"real": key_pair("idp"), "rogue": key_pair("rogue")}
STATE = {"sp_files": [], "next": {}}


def server(base, keys="real", lifetime_minutes=60):
    """A pysaml2 IdP for `base`, signing with `keys`."""
    key_file, cert_file = KEYS[keys]
    config = IdPConfig()
    config.load(
        {
            "entityid": f"{base}/metadata",
            "service": {
                "idp": {
                    "endpoints": {
                        "single_sign_on_service": [(f"{base}/sso", BINDING_HTTP_REDIRECT)]
                    },
                    "name_id_format": [NAMEID_FORMAT_EMAILADDRESS],
                    "policy": {"default": {"lifetime": {"minutes": lifetime_minutes}}},
                }
            },
            "key_file": key_file,
            "cert_file": cert_file,
            "metadata": {"local": list(STATE["sp_files"])},
            "xmlsec_binary": "/usr/bin/xmlsec1",
            "allow_unknown_attributes": True,
            "delete_tmpfiles": True,
        }
    )
    return Server(config=config)


def response_xml(base, sp_entity, acs, in_response_to):
    """The next response, as XML, per the scenario set with /_next."""
    scenario = STATE["next"]
    mode = scenario.get("mode", "signed_assertion")
    email = scenario.get("email", "ann@acme.test")
    idp = server(
        base,
        keys="rogue" if mode == "rogue_key" else "real",
        lifetime_minutes=scenario.get("lifetime_minutes", 60),
    )
    identity = {"email": [email], "groups": scenario.get("groups", [])}
    name_id = saml.NameID(
        format=NAMEID_FORMAT_EMAILADDRESS, text=scenario.get("subject", email)
    )
    response = idp.create_authn_response(
        identity,
        in_response_to=scenario.get("in_response_to", in_response_to),
        destination=acs,
        sp_entity_id=OTHER_SP if mode == "other_audience" else sp_entity,
        name_id=name_id,
        authn={"class_ref": saml.AUTHN_PASSWORD_PROTECTED},
        sign_assertion=mode
        in ("signed_assertion", "other_audience", "rogue_key", "wrapped", "sha1"),
        sign_response=mode == "signed_response",
        sign_alg=None if mode == "sha1" else "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
        digest_alg=None if mode == "sha1" else "http://www.w3.org/2001/04/xmlenc#sha256",
    )
    xml = str(response)
    if mode == "wrapped":
        xml = wrap(xml, email)
    return xml


def wrap(xml, email):
    """XML signature wrapping: an unsigned copy of the signed assertion, naming
    `victim@<domain>` and with an ID of its own, goes before the signed one."""
    found = re.search(r"<(\w+:)?Assertion\b.*?</\1Assertion>", xml, re.S)
    signed = found.group(0)
    evil = re.sub(r"<(\w+:)?Signature\b.*?</\1Signature>", "", signed, count=1, flags=re.S)
    evil = re.sub(r'\bID="[^"]+"', 'ID="_evil"', evil, count=1)
    victim = "victim@" + email.split("@", 1)[1]
    evil = evil.replace(email, victim)
    return xml.replace(signed, evil + signed, 1)


def certificate_base64(cert_file):
    with open(cert_file) as f:
        pem = f.read()
    return "".join(line for line in pem.splitlines() if "CERTIFICATE" not in line)


def with_rogue_certificate(xml):
    """The metadata with a second signing certificate (the rogue key's) beside the real one."""
    found = re.search(r"<(\w+:)?KeyDescriptor\b.*?</\1KeyDescriptor>", xml, re.S)
    descriptor = found.group(0)
    real, rogue = certificate_base64(KEYS["real"][1]), certificate_base64(KEYS["rogue"][1])
    second = re.sub(r"(<(\w+:)?X509Certificate>).*?(</\2X509Certificate>)",
                    lambda m: m.group(1) + rogue + m.group(3), descriptor, flags=re.S)
    assert real not in second
    return xml.replace(descriptor, descriptor + second, 1)


def posting_page(acs, saml_response, relay_state):
    """The HTTP-POST binding: a page that posts the response to the SP's ACS."""
    import base64

    encoded = base64.b64encode(saml_response.encode()).decode()
    relay = (
        f'<input type="hidden" name="RelayState" value="{html.escape(relay_state)}"/>'
        if relay_state
        else ""
    )
    return f"""<!doctype html><html><body onload="document.forms[0].submit()">
<form method="post" action="{html.escape(acs)}">
<input type="hidden" name="SAMLResponse" value="{encoded}"/>{relay}
<noscript><button>Continue</button></noscript></form></body></html>"""


def login_page(saml_request, relay_state):
    return f"""<!doctype html><html><body><h1>Test IdP</h1>
<form method="post" action="/sso/login">
<label>E-mail <input name="email" id="idp-email"/></label>
<input type="hidden" name="SAMLRequest" value="{html.escape(saml_request)}"/>
<input type="hidden" name="RelayState" value="{html.escape(relay_state)}"/>
<button id="idp-submit">Sign in</button></form></body></html>"""


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def base(self):
        return f"http://{self.headers['Host']}"

    def body(self):
        return self.rfile.read(int(self.headers.get("Content-Length", 0)))

    def send(self, status, body, content_type="text/html; charset=utf-8"):
        data = body.encode() if isinstance(body, str) else body
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def answer(self, saml_request, relay_state):
        """Answers an AuthnRequest with the posting page."""
        idp = server(self.base())
        request = idp.parse_authn_request(saml_request, BINDING_HTTP_REDIRECT).message
        sp_entity = request.issuer.text
        acs = request.assertion_consumer_service_url
        xml = response_xml(self.base(), sp_entity, acs, request.id)
        self.send(200, posting_page(acs, xml, relay_state))

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        query = dict(urllib.parse.parse_qsl(url.query))
        try:
            if url.path == "/metadata":
                idp = server(self.base())
                xml = create_metadata_string(None, idp.config, 4, None, None, None, None, None).decode()
                if query.get("with_rogue"):
                    xml = with_rogue_certificate(xml)
                self.send(200, xml, "application/samlmetadata+xml")
            elif url.path == "/launch":
                # The IdP's app tile: an unsolicited response for `email` to the SP's ACS.
                STATE["next"] = {**STATE["next"], "email": query["email"]}
                xml = response_xml(self.base(), query["entity_id"], query["acs_url"], None)
                self.send(200, posting_page(query["acs_url"], xml, ""))
            elif url.path == "/sso":
                if STATE["next"].get("interactive"):
                    self.send(200, login_page(query["SAMLRequest"], query.get("RelayState", "")))
                else:
                    self.answer(query["SAMLRequest"], query.get("RelayState", ""))
            else:
                self.send(404, "not found", "text/plain")
        except Exception as error:  # the test reads the reason
            self.send(500, f"{type(error).__name__}: {error}", "text/plain")

    def do_POST(self):
        url = urllib.parse.urlsplit(self.path)
        try:
            if url.path == "/_sp":
                xml = self.body().decode()
                entity = re.search(r'entityID="([^"]+)"', xml).group(1)
                files = []
                for name, document in (("sp", xml), ("other", xml.replace(entity, OTHER_SP))):
                    path = os.path.join(WORK, f"{name}.xml")
                    with open(path, "w") as f:
                        f.write(document)
                    files.append(path)
                STATE["sp_files"] = files
                self.send(204, "")
            elif url.path == "/_next":
                STATE["next"] = json.loads(self.body() or b"{}")
                self.send(204, "")
            elif url.path == "/sso/login":
                form = dict(urllib.parse.parse_qsl(self.body().decode()))
                STATE["next"] = {**STATE["next"], "email": form["email"]}
                self.answer(form["SAMLRequest"], form.get("RelayState", ""))
            elif url.path == "/_unsolicited":
                sp = json.loads(self.body())
                xml = response_xml(self.base(), sp["entity_id"], sp["acs_url"], None)
                self.send(200, posting_page(sp["acs_url"], xml, ""))
            else:
                self.send(404, "not found", "text/plain")
        except Exception as error:
            self.send(500, f"{type(error).__name__}: {error}", "text/plain")


def main():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    print(f"listening on {httpd.server_address[1]}", flush=True)
    httpd.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
