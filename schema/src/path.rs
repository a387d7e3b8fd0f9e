//! Attribute paths: where in a resource a diagnostic or a change applies.

use std::fmt;

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum PathStep {
    Attribute(String),
    /// A map key.
    Key(String),
    /// A list, set or tuple position.
    Index(i64),
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct AttributePath(Vec<PathStep>);

impl AttributePath {
    pub fn root() -> AttributePath {
        AttributePath(Vec::new())
    }
    pub fn new(steps: Vec<PathStep>) -> AttributePath {
        AttributePath(steps)
    }
    /// A path to a top-level attribute.
    pub fn of(name: &str) -> AttributePath {
        AttributePath::root().attr(name)
    }
    pub fn attr(&self, name: &str) -> AttributePath {
        self.with(PathStep::Attribute(name.to_string()))
    }
    pub fn key(&self, key: &str) -> AttributePath {
        self.with(PathStep::Key(key.to_string()))
    }
    pub fn index(&self, i: usize) -> AttributePath {
        self.with(PathStep::Index(i64::try_from(i).unwrap_or(i64::MAX)))
    }
    fn with(&self, step: PathStep) -> AttributePath {
        let mut steps = self.0.clone();
        steps.push(step);
        AttributePath(steps)
    }
    pub fn steps(&self) -> &[PathStep] {
        &self.0
    }
    pub fn is_root(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Display for AttributePath {
    /// HCL-like rendering: `timeouts.create`, `tags["team"]`, `policy[0].value`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, step) in self.0.iter().enumerate() {
            match step {
                PathStep::Attribute(name) if i == 0 => f.write_str(name)?,
                PathStep::Attribute(name) => write!(f, ".{name}")?,
                PathStep::Key(key) => write!(f, "[{key:?}]")?,
                PathStep::Index(idx) => write!(f, "[{idx}]")?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_like_hcl() {
        let p = AttributePath::of("scale_down").attr("policy").index(1).attr("value");
        assert_eq!(p.to_string(), "scale_down.policy[1].value");
        assert_eq!(AttributePath::of("tags").key("team").to_string(), r#"tags["team"]"#);
    }
}
