//! The shape a SAML response must have before xmlsec sees it.
//!
//! xmlsec follows what a signature says before it checks the signature value: a `Reference`
//! URI is dereferenced (a file, an `http://` address), its transforms run (XPath, XSLT), and
//! `Manifest` references are processed. So anyone able to post to an ACS could make Beacon read
//! local files, reach internal addresses or burn CPU with a forged, never-valid signature. This
//! check runs first and lets through only what a SAML response needs: at most two signatures
//! (the response's and the assertion's), each with one same-document reference (`#id`),
//! canonicalization and the enveloped-signature transform only, and no `Manifest`, `Object`,
//! `RetrievalMethod` or DOCTYPE. It also reads the Response's own `InResponseTo`, which samael
//! ignores for an unsolicited response.

use quick_xml::events::{BytesStart, Event};
use quick_xml::name::ResolveResult;
use quick_xml::reader::NsReader;

const DSIG: &[u8] = b"http://www.w3.org/2000/09/xmldsig#";
const PROTOCOL: &[u8] = b"urn:oasis:names:tc:SAML:2.0:protocol";
/// Canonicalization algorithms a signature may name.
const CANONICALIZATIONS: &[&[u8]] = &[
    b"http://www.w3.org/2001/10/xml-exc-c14n#",
    b"http://www.w3.org/2001/10/xml-exc-c14n#WithComments",
    b"http://www.w3.org/TR/2001/REC-xml-c14n-20010315",
    b"http://www.w3.org/TR/2001/REC-xml-c14n-20010315#WithComments",
    b"http://www.w3.org/2006/12/xml-c14n11",
];
const ENVELOPED: &[u8] = b"http://www.w3.org/2000/09/xmldsig#enveloped-signature";
/// More elements than any real response has.
const MAX_ELEMENTS: usize = 20_000;

/// What the check read.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Shape {
    /// The root `samlp:Response`'s `InResponseTo`.
    pub response_in_response_to: Option<String>,
}

fn attribute(element: &BytesStart<'_>, name: &[u8]) -> Result<Option<Vec<u8>>, String> {
    for attribute in element.attributes() {
        let attribute = attribute.map_err(|e| format!("a malformed attribute: {e}"))?;
        if attribute.key.as_ref() == name {
            return Ok(Some(attribute.value.into_owned()));
        }
    }
    Ok(None)
}

/// A same-document reference: `#` and an XML ID.
fn is_local_reference(uri: &[u8]) -> bool {
    uri.len() >= 2
        && uri.len() <= 257
        && uri[0] == b'#'
        && uri[1..]
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}

/// Checks `xml`'s shape (see the module docs); `Err` says what is not allowed.
pub fn check(xml: &str) -> Result<Shape, String> {
    let mut reader = NsReader::from_str(xml);
    let mut shape = Shape::default();
    let (mut elements, mut signatures, mut references) = (0usize, 0usize, 0usize);
    loop {
        let (namespace, event) = reader
            .read_resolved_event()
            .map_err(|e| format!("the response is not well-formed XML: {e}"))?;
        let element = match event {
            Event::Eof => break,
            Event::DocType(_) => return Err("a DOCTYPE is not allowed".into()),
            Event::Start(element) | Event::Empty(element) => element,
            _ => continue,
        };
        elements += 1;
        if elements > MAX_ELEMENTS {
            return Err(format!("more than {MAX_ELEMENTS} elements"));
        }
        let local = element.local_name();
        let local = local.as_ref();
        let in_namespace =
            |ns: &[u8]| matches!(&namespace, ResolveResult::Bound(n) if n.as_ref() == ns);
        if elements == 1 && in_namespace(PROTOCOL) && local == b"Response" {
            shape.response_in_response_to = attribute(&element, b"InResponseTo")?
                .map(|value| String::from_utf8_lossy(&value).into_owned());
        }
        if !in_namespace(DSIG) {
            continue;
        }
        match local {
            b"Signature" => {
                signatures += 1;
                if signatures > 2 {
                    return Err("more than two signatures".into());
                }
            }
            b"Reference" => {
                references += 1;
                if references > signatures {
                    return Err("a signature with more than one reference".into());
                }
                let uri = attribute(&element, b"URI")?.unwrap_or_default();
                if !is_local_reference(&uri) {
                    return Err(
                        "a signature reference that is not to an element of the response".into(),
                    );
                }
            }
            b"CanonicalizationMethod" | b"Transform" => {
                let algorithm = attribute(&element, b"Algorithm")?.unwrap_or_default();
                let allowed = CANONICALIZATIONS.contains(&algorithm.as_slice())
                    || (local == b"Transform" && algorithm == ENVELOPED);
                if !allowed {
                    return Err(format!(
                        "the transform {} is not allowed",
                        String::from_utf8_lossy(&algorithm)
                    ));
                }
            }
            b"Manifest" | b"Object" | b"RetrievalMethod" | b"XPath" | b"SignatureProperties" => {
                return Err(format!(
                    "a signature's {} is not allowed",
                    String::from_utf8_lossy(local)
                ));
            }
            _ => {}
        }
    }
    Ok(shape)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(signature: &str) -> String {
        format!(
            r##"<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" ID="_r" InResponseTo="_req"><ds:Signature><ds:SignedInfo><ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/>{signature}</ds:SignedInfo></ds:Signature></samlp:Response>"##
        )
    }

    const GOOD: &str = r##"<ds:Reference URI="#_r"><ds:Transforms><ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/><ds:Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/></ds:Transforms></ds:Reference>"##;

    #[test]
    fn a_plain_signed_response_passes_and_its_in_response_to_is_read() {
        let shape = check(&response(GOOD));
        assert_eq!(
            shape,
            Ok(Shape {
                response_in_response_to: Some("_req".into())
            })
        );
    }

    #[test]
    fn references_elsewhere_foreign_transforms_and_manifests_are_refused() {
        for (bad, says) in [
            (
                GOOD.replace("#_r", "file:///dev/urandom"),
                "not to an element",
            ),
            (GOOD.replace("#_r", "http://10.0.0.1/"), "not to an element"),
            (GOOD.replace("#_r", ""), "not to an element"),
            (
                GOOD.replace(
                    "http://www.w3.org/2001/10/xml-exc-c14n#\"/></ds:Transforms>",
                    "http://www.w3.org/TR/1999/REC-xslt-19991116\"/></ds:Transforms>",
                ),
                "xslt",
            ),
            (format!("{GOOD}{GOOD}"), "more than one reference"),
            (
                format!("{GOOD}<ds:Object><ds:Manifest/></ds:Object>"),
                "Object",
            ),
        ] {
            let refused = check(&response(&bad));
            assert!(
                matches!(&refused, Err(why) if why.contains(says)),
                "{says}: {refused:?}"
            );
        }
        let doctype = format!("<!DOCTYPE r [<!ENTITY x \"y\">]>{}", response(GOOD));
        assert!(check(&doctype).is_err());
        assert!(check("<unclosed").is_err());
    }
}
