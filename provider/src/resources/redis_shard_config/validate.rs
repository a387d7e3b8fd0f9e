//! Plan-time checks of ElastiCache names, as the ElastiCache API reference states them.

/// Node types: `cache.FAMILY.SIZE`, e.g. `cache.r6g.xlarge`.
pub fn node_type_problem(node_type: &str) -> Result<(), String> {
    let parts: Vec<&str> = node_type.split('.').collect();
    let ok = parts.len() == 3
        && parts[0] == "cache"
        && parts[1..].iter().all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()));
    if ok {
        Ok(())
    } else {
        Err("is not an ElastiCache node type such as \"cache.r6g.xlarge\"".into())
    }
}

/// Sizes in the order their memory grows within one family.
const SIZES: &[&str] = &["micro", "small", "medium", "large", "xlarge"];

/// A size's rank within its family: micro < small < medium < large < xlarge < 2xlarge < ...
fn size_rank(size: &str) -> Option<u32> {
    if let Some(i) = SIZES.iter().position(|s| *s == size) {
        return Some(i as u32);
    }
    let n: u32 = size.strip_suffix("xlarge")?.parse().ok()?;
    Some(SIZES.len() as u32 - 1 + n)
}

/// Why moving from one node type to another may not fit the data, if it may not: a smaller
/// size of the same family has less memory; another family's memory per size differs.
pub fn memory_warning(from: &str, to: &str) -> Option<String> {
    let (f, t): (Vec<&str>, Vec<&str>) = (from.split('.').collect(), to.split('.').collect());
    if f.len() != 3 || t.len() != 3 || from == to {
        return None;
    }
    let (fr, tr) = (size_rank(f[2])?, size_rank(t[2])?);
    if f[1] == t[1] {
        (tr < fr)
            .then(|| format!("{to} has less memory than {from}: the data may not fit, and ElastiCache refuses the change if it does not."))
    } else {
        (tr <= fr).then(|| {
            format!("{to} is another family than {from}, of the same or a smaller size: compare their memory before applying; the data may not fit.")
        })
    }
}

/// Whether `to` has more memory than `from` by its size (a larger size, in the same family or
/// another): the order of steps puts such a node type before a scale-in.
pub fn is_larger(from: &str, to: &str) -> bool {
    let (f, t): (Vec<&str>, Vec<&str>) = (from.split('.').collect(), to.split('.').collect());
    f.len() == 3 && t.len() == 3 && matches!((size_rank(f[2]), size_rank(t[2])), (Some(fr), Some(tr)) if tr > fr)
}

/// Node types of the data tiering families (r6gd: memory and local SSD), which a group has
/// from its creation on: ElastiCache scales neither from them to others nor the other way.
fn data_tiering(node_type: &str) -> bool {
    node_type.split('.').nth(1).is_some_and(|family| family == "r6gd")
}

/// Why a group of `from` cannot move to `to` at all, if it cannot.
pub fn node_type_move_problem(from: &str, to: &str) -> Option<String> {
    match (data_tiering(from), data_tiering(to)) {
        (true, false) => Some(format!(
            "{from} is a data tiering node type (memory and SSD) and {to} is not: ElastiCache does not scale a data tiering \
             group to a node type without it. Keep an r6gd type, or create a new group and migrate."
        )),
        (false, true) => Some(format!(
            "{to} is a data tiering node type (memory and SSD) and {from} is not: data tiering is chosen when a group is \
             created, so ElastiCache does not scale an existing group to it. Create a new group with data tiering instead."
        )),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_types_and_memory() {
        assert!(node_type_problem("cache.r6g.xlarge").is_ok());
        for bad in ["r6g.xlarge", "cache.r6g", "db.r6g.large", "cache.R6G.large"] {
            assert!(node_type_problem(bad).is_err(), "{bad}");
        }
        assert!(memory_warning("cache.r6g.xlarge", "cache.r6g.large").is_some());
        assert!(memory_warning("cache.r6g.large", "cache.r6g.xlarge").is_none());
        assert!(memory_warning("cache.r6g.2xlarge", "cache.r6g.xlarge").is_some());
        assert!(memory_warning("cache.r6g.xlarge", "cache.r6g.12xlarge").is_none());
        assert!(memory_warning("cache.r6g.xlarge", "cache.m6g.xlarge").is_some(), "another family, same size");
        assert!(memory_warning("cache.r6g.large", "cache.m6g.2xlarge").is_none());
        assert!(is_larger("cache.r6g.large", "cache.r6g.2xlarge") && !is_larger("cache.r6g.2xlarge", "cache.r6g.large"));
        assert!(!is_larger("cache.r6g.large", "cache.r6g.large"));
    }

    #[test]
    fn data_tiering_is_kept_both_ways() {
        let away = node_type_move_problem("cache.r6gd.xlarge", "cache.r6g.2xlarge").unwrap();
        assert!(away.contains("cache.r6gd.xlarge") && away.contains("cache.r6g.2xlarge"), "{away}");
        assert!(node_type_move_problem("cache.r6g.xlarge", "cache.r6gd.xlarge").is_some());
        assert!(node_type_move_problem("cache.r6gd.xlarge", "cache.r6gd.2xlarge").is_none());
        assert!(node_type_move_problem("cache.r6g.xlarge", "cache.m6g.xlarge").is_none());
    }
}
