//! Uses a regex, JSON and a C helper, so a link must bring all three together.

extern "C" {
    fn helper_scale(x: i32) -> i32;
}

/// Sums the numbers found in `text`, scaled by the C helper.
pub fn scaled_sum(text: &str) -> i64 {
    let re = regex::Regex::new(r"\d+").unwrap();
    re.find_iter(text).map(|m| i64::from(unsafe { helper_scale(m.as_str().parse().unwrap()) })).sum()
}

/// Serialized by serde's derive macro, which rustc runs from a shared library rlink linked.
#[derive(serde::Serialize)]
struct Summary<'a> {
    input: &'a str,
    sum: i64,
}

pub fn to_json(text: &str) -> String {
    serde_json::to_string(&Summary { input: text, sum: scaled_sum(text) }).unwrap()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regex_json_and_c_together() {
        // Each test thread starts with the helper's thread-local counter at 0.
        let out = std::thread::spawn(|| to_json("a1 b22")).join().unwrap();
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["input"], "a1 b22");
        assert_eq!(v["sum"], (1 * 3 + 1) + (22 * 3 + 2));
    }

    #[test]
    fn panics_unwind_in_tests() {
        let r = std::panic::catch_unwind(|| regex::Regex::new("(").unwrap());
        assert!(r.is_err());
    }
}
