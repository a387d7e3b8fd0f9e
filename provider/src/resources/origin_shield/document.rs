//! A distribution config as the XML document CloudFront returned, edited in place.
//!
//! UpdateDistribution replaces the whole config, and any typed model (the SDK's included)
//! drops the elements it does not know: fields CloudFront added after the SDK was built would
//! be erased by a read-modify-write through it. So the document is kept as text, and the one
//! `OriginShield` element of the one origin is spliced in by byte position; every other byte
//! goes back exactly as it came.

use std::ops::Range;

/// Origin Shield of one origin as the document has it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Shield {
    pub enabled: bool,
    pub region: Option<String>,
}

impl Shield {
    /// What an origin without the element has: CloudFront treats it as off.
    pub const OFF: Shield = Shield { enabled: false, region: None };

    fn to_xml(&self, prefix: &str) -> String {
        let region = self
            .region
            .as_deref()
            .map(|r| format!("<{prefix}OriginShieldRegion>{}</{prefix}OriginShieldRegion>", escape(r)))
            .unwrap_or_default();
        format!("<{prefix}OriginShield><{prefix}Enabled>{}</{prefix}Enabled>{region}</{prefix}OriginShield>", self.enabled)
    }
}

/// One origin of the document and where its parts are.
#[derive(Clone, Debug)]
pub struct Origin {
    pub id: String,
    pub domain_name: String,
    /// None when the origin has no OriginShield element (CloudFront then treats it as off).
    pub shield: Option<Shield>,
    shield_span: Option<Range<usize>>,
    /// Where a missing OriginShield element goes: after the last child that precedes it in
    /// CloudFront's schema (the Origin type is an XML sequence).
    insert_at: usize,
    /// The namespace prefix the origin's elements use (CloudFront uses none).
    prefix: String,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DocumentError {
    #[error("the distribution config is not well-formed XML: {0}")]
    Malformed(String),
    #[error("the distribution config has no DistributionConfig root element")]
    NotADistributionConfig,
}

/// The children of `Origin` that come before `OriginShield`, in the API reference's order.
const BEFORE_SHIELD: &[&str] = &[
    "Id",
    "DomainName",
    "OriginPath",
    "CustomHeaders",
    "S3OriginConfig",
    "CustomOriginConfig",
    "VpcOriginConfig",
    "ConnectionAttempts",
    "ConnectionTimeout",
    "ResponseCompletionTimeout",
];

#[derive(Debug)]
pub struct ConfigDocument {
    xml: String,
    origins: Vec<Origin>,
}

impl ConfigDocument {
    pub fn parse(xml: String) -> Result<ConfigDocument, DocumentError> {
        let origins = origins_of(&xml)?;
        Ok(ConfigDocument { xml, origins })
    }

    pub fn origins(&self) -> &[Origin] {
        &self.origins
    }

    pub fn origin(&self, id: &str) -> Option<&Origin> {
        self.origins.iter().find(|o| o.id == id)
    }

    /// The document with origin `id`'s Origin Shield set to `shield` and nothing else changed;
    /// None when there is no such origin.
    pub fn with_shield(&self, id: &str, shield: &Shield) -> Option<String> {
        let origin = self.origin(id)?;
        let element = shield.to_xml(&origin.prefix);
        let span = origin.shield_span.clone().unwrap_or(origin.insert_at..origin.insert_at);
        let mut out = String::with_capacity(self.xml.len() + element.len());
        out.push_str(&self.xml[..span.start]);
        out.push_str(&element);
        out.push_str(&self.xml[span.end..]);
        Some(out)
    }
}

/// An element being read: its name, where it starts, and its text so far.
struct Open {
    local: String,
    prefix: String,
    start: usize,
    text: String,
}

/// Finds `DistributionConfig/Origins/Items/Origin` elements and, in each, the Id, DomainName
/// and OriginShield children.
fn origins_of(xml: &str) -> Result<Vec<Origin>, DocumentError> {
    use xmlparser::{ElementEnd, Token, Tokenizer};

    let mut stack: Vec<Open> = Vec::new();
    let mut pending: Option<Open> = None;
    let mut origins = Vec::new();
    let mut current: Option<Origin> = None;
    let mut root_seen = false;

    for token in Tokenizer::from(xml) {
        let token = token.map_err(|e| DocumentError::Malformed(e.to_string()))?;
        match token {
            Token::ElementStart { prefix, local, span } => {
                pending = Some(Open { local: local.to_string(), prefix: prefix.to_string(), start: span.start(), text: String::new() });
            }
            Token::ElementEnd { end: ElementEnd::Open, span } => {
                let open = pending.take().ok_or_else(|| DocumentError::Malformed("unexpected '>'".into()))?;
                if stack.is_empty() {
                    if open.local != "DistributionConfig" {
                        return Err(DocumentError::NotADistributionConfig);
                    }
                    root_seen = true;
                }
                stack.push(open);
                if in_origin_list(&stack) {
                    let prefix = stack.last().map(|o| o.prefix.clone()).unwrap_or_default();
                    current = Some(Origin {
                        id: String::new(),
                        domain_name: String::new(),
                        shield: None,
                        shield_span: None,
                        // Right inside `<Origin>` until a child that precedes the shield is seen.
                        insert_at: span.end(),
                        prefix: if prefix.is_empty() { String::new() } else { format!("{prefix}:") },
                    });
                }
            }
            Token::ElementEnd { end: ElementEnd::Empty, span } => {
                let open = pending.take().ok_or_else(|| DocumentError::Malformed("unexpected '/>'".into()))?;
                if stack.is_empty() {
                    return Err(DocumentError::NotADistributionConfig);
                }
                stack.push(open);
                closed(&mut stack, &mut current, &mut origins, span.end());
            }
            Token::ElementEnd { end: ElementEnd::Close(_, local), span } => {
                if stack.last().map(|o| o.local.as_str()) != Some(local.as_str()) {
                    return Err(DocumentError::Malformed(format!("unexpected </{local}>")));
                }
                closed(&mut stack, &mut current, &mut origins, span.end());
            }
            Token::Text { text } => {
                if let Some(open) = stack.last_mut() {
                    open.text.push_str(&unescape(text.as_str()));
                }
            }
            Token::Cdata { text, .. } => {
                if let Some(open) = stack.last_mut() {
                    open.text.push_str(text.as_str());
                }
            }
            _ => {}
        }
    }
    if !root_seen {
        return Err(DocumentError::NotADistributionConfig);
    }
    if !stack.is_empty() {
        return Err(DocumentError::Malformed("the document ends inside an element".into()));
    }
    Ok(origins)
}

/// Whether the innermost element on `stack` is an origin of the distribution's origin list.
fn in_origin_list(stack: &[Open]) -> bool {
    let names: Vec<&str> = stack.iter().map(|o| o.local.as_str()).collect();
    names == ["DistributionConfig", "Origins", "Items", "Origin"]
}

/// The innermost element ends at `end`: record what the origin being read needs from it.
fn closed(stack: &mut Vec<Open>, current: &mut Option<Origin>, origins: &mut Vec<Origin>, end: usize) {
    let depth = stack.len();
    let Some(element) = stack.pop() else { return };
    if depth == 4 && in_origin_list_after_pop(stack, &element) {
        origins.extend(current.take());
        return;
    }
    let Some(origin) = current.as_mut() else { return };
    if depth == 5 {
        // A direct child of the origin.
        match element.local.as_str() {
            "Id" => origin.id = element.text.trim().to_string(),
            "DomainName" => origin.domain_name = element.text.trim().to_string(),
            "OriginShield" => {
                origin.shield_span = Some(element.start..end);
                // Its children were folded into `shield` as they closed.
                origin.shield.get_or_insert(Shield::OFF);
            }
            _ => {}
        }
        if BEFORE_SHIELD.contains(&element.local.as_str()) {
            origin.insert_at = end;
        }
    } else if depth == 6 && stack.last().is_some_and(|p| p.local == "OriginShield") {
        let shield = origin.shield.get_or_insert(Shield::OFF);
        match element.local.as_str() {
            // xs:boolean: "true" or "1".
            "Enabled" => shield.enabled = matches!(element.text.trim(), "true" | "1"),
            "OriginShieldRegion" => {
                let region = element.text.trim();
                shield.region = (!region.is_empty()).then(|| region.to_string());
            }
            _ => {}
        }
    }
}

fn in_origin_list_after_pop(stack: &[Open], element: &Open) -> bool {
    element.local == "Origin" && stack.iter().map(|o| o.local.as_str()).eq(["DistributionConfig", "Origins", "Items"])
}

/// The five entities XML predefines, and character references.
fn unescape(text: &str) -> String {
    if !text.contains('&') {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        let tail = &rest[at..];
        let Some(semi) = tail.find(';') else {
            out.push_str(tail);
            return out;
        };
        let entity = &tail[1..semi];
        let ch = match entity {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            _ => entity
                .strip_prefix("#x")
                .map(|h| u32::from_str_radix(h, 16).ok())
                .unwrap_or_else(|| entity.strip_prefix('#').and_then(|d| d.parse().ok()))
                .and_then(char::from_u32),
        };
        match ch {
            Some(c) => out.push(c),
            None => out.push_str(&tail[..=semi]),
        }
        rest = &tail[semi + 1..];
    }
    out.push_str(rest);
    out
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Three origins; the second has Origin Shield; the document also holds an element no
    /// SDK knows (`FutureSetting`), comments and odd whitespace, which must survive.
    const CONFIG: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<DistributionConfig xmlns="http://cloudfront.amazonaws.com/doc/2020-05-31/">
  <CallerReference>runbook</CallerReference>
  <Origins><Quantity>3</Quantity><Items>
    <Origin><Id>api</Id><DomainName>api.example.com</DomainName><OriginPath/>
      <CustomHeaders><Quantity>0</Quantity></CustomHeaders>
      <ConnectionAttempts>3</ConnectionAttempts><ConnectionTimeout>10</ConnectionTimeout>
      <OriginAccessControlId></OriginAccessControlId></Origin>
    <Origin><Id>static &amp; media</Id><DomainName>media.example.com</DomainName>
      <OriginShield><Enabled>true</Enabled><OriginShieldRegion>eu-west-1</OriginShieldRegion></OriginShield></Origin>
    <Origin><Id>legacy</Id><DomainName>old.example.com</DomainName><FutureSetting a="1">kept</FutureSetting></Origin>
  </Items></Origins>
  <OriginGroups><Quantity>1</Quantity><Items><OriginGroup><Id>group</Id><Members><Quantity>1</Quantity><Items><OriginGroupMember><OriginId>api</OriginId></OriginGroupMember></Items></Members></OriginGroup></Items></OriginGroups>
  <!-- a comment -->
  <Comment>prod</Comment><Enabled>true</Enabled>
</DistributionConfig>"#;

    fn doc() -> ConfigDocument {
        ConfigDocument::parse(CONFIG.to_string()).unwrap()
    }

    #[test]
    fn reads_every_origin_and_its_shield() {
        let d = doc();
        let ids: Vec<&str> = d.origins().iter().map(|o| o.id.as_str()).collect();
        assert_eq!(ids, ["api", "static & media", "legacy"], "origin groups' ids are not origins");
        assert_eq!(d.origin("api").unwrap().shield, None);
        assert_eq!(d.origin("api").unwrap().domain_name, "api.example.com");
        assert_eq!(d.origin("static & media").unwrap().shield, Some(Shield { enabled: true, region: Some("eu-west-1".into()) }));
    }

    #[test]
    fn inserts_a_missing_shield_after_the_connection_settings() {
        let d = doc();
        let on = Shield { enabled: true, region: Some("us-east-1".into()) };
        let out = d.with_shield("api", &on).unwrap();
        let at = CONFIG.find("<ConnectionTimeout>10</ConnectionTimeout>").unwrap() + "<ConnectionTimeout>10</ConnectionTimeout>".len();
        let element = "<OriginShield><Enabled>true</Enabled><OriginShieldRegion>us-east-1</OriginShieldRegion></OriginShield>";
        assert_eq!(out, format!("{}{element}{}", &CONFIG[..at], &CONFIG[at..]), "only the element was added, before OriginAccessControlId");
        let again = ConfigDocument::parse(out).unwrap();
        assert_eq!(again.origin("api").unwrap().shield, Some(on));
        assert_eq!(again.origin("static & media").unwrap().shield, d.origin("static & media").unwrap().shield);
    }

    #[test]
    fn replaces_an_existing_shield_and_keeps_unknown_elements() {
        let d = doc();
        let off = Shield { enabled: false, region: Some("eu-west-1".into()) };
        let out = d.with_shield("static & media", &off).unwrap();
        let expected = CONFIG.replace("<Enabled>true</Enabled><OriginShieldRegion>", "<Enabled>false</Enabled><OriginShieldRegion>");
        assert_eq!(out, expected, "only the flag changed");
        let legacy = d.with_shield("legacy", &Shield { enabled: true, region: Some("us-west-2".into()) }).unwrap();
        assert!(legacy.contains("<FutureSetting a=\"1\">kept</FutureSetting></Origin>"), "{legacy}");
        assert!(
            legacy.contains("<DomainName>old.example.com</DomainName><OriginShield>"),
            "after the last known predecessor, before the unknown element: {legacy}"
        );
    }

    #[test]
    fn an_origin_with_no_known_child_gets_the_element_inside_it() {
        let bare = "<DistributionConfig><Origins><Items><Origin><Extra/></Origin></Items></Origins></DistributionConfig>";
        let d = ConfigDocument::parse(bare.to_string()).unwrap();
        assert_eq!(d.origins()[0].id, "");
        let out = d.with_shield("", &Shield { enabled: true, region: Some("eu-west-2".into()) }).unwrap();
        assert!(out.starts_with("<DistributionConfig><Origins><Items><Origin><OriginShield><Enabled>true</Enabled>"), "{out}");
        let flags = "<DistributionConfig><Origins><Items><Origin><Id>a</Id><OriginShield><Enabled>1</Enabled></OriginShield></Origin></Items></Origins></DistributionConfig>";
        assert!(ConfigDocument::parse(flags.to_string()).unwrap().origin("a").unwrap().shield.as_ref().unwrap().enabled, "xs:boolean 1");
    }

    #[test]
    fn unknown_origin_and_bad_documents() {
        assert!(doc().with_shield("nope", &Shield { enabled: true, region: None }).is_none());
        assert_eq!(ConfigDocument::parse("<Distribution/>".into()).unwrap_err(), DocumentError::NotADistributionConfig);
        assert!(matches!(ConfigDocument::parse("<DistributionConfig><Origins>".into()), Err(DocumentError::Malformed(_))));
        assert!(matches!(ConfigDocument::parse("<DistributionConfig></Origins>".into()), Err(DocumentError::Malformed(_))));
    }

    #[test]
    fn entities() {
        assert_eq!(unescape("a &amp; b &lt;c&gt; &#65;&#x42; &bogus;"), "a & b <c> AB &bogus;");
        assert_eq!(escape("a&b<c"), "a&amp;b&lt;c");
    }
}
