//! The wording helpers of graphql-core's messages: "Did you mean …?"
//! suggestions (same distance, threshold and order, so the same names come
//! out) and the Python `repr` of JSON values that variable errors print.

/// Damerau-Levenshtein distance (optimal string alignment) between
/// lowercased names, `None` past `threshold`; a case-only difference is 1.
fn lexical_distance(input: &str, option: &str, threshold: usize) -> Option<usize> {
    if input == option {
        return Some(0);
    }
    let (il, ol) = (input.to_lowercase(), option.to_lowercase());
    if il == ol {
        return Some(1);
    }
    let mut a: Vec<char> = ol.chars().collect();
    let mut b: Vec<char> = il.chars().collect();
    if a.len() < b.len() {
        std::mem::swap(&mut a, &mut b);
    }
    if a.len() - b.len() > threshold {
        return None;
    }
    let mut rows = vec![vec![0usize; b.len() + 1]; 3];
    for (j, cell) in rows[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        let mut smallest = i;
        rows[i % 3][0] = i;
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut cell = (rows[(i - 1) % 3][j] + 1)
                .min(rows[i % 3][j - 1] + 1)
                .min(rows[(i - 1) % 3][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                cell = cell.min(rows[(i - 2) % 3][j - 2] + 1);
            }
            smallest = smallest.min(cell);
            rows[i % 3][j] = cell;
        }
        if smallest > threshold {
            return None;
        }
    }
    let d = rows[a.len() % 3][b.len()];
    (d <= threshold).then_some(d)
}

/// Splits a name into text and number runs so `a10` sorts after `a9`.
fn natural_key(s: &str) -> Vec<(String, u128)> {
    let mut out = Vec::new();
    let mut text = String::new();
    let mut chars = s.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_ascii_digit() {
            let mut n = String::new();
            while let Some(&d) = chars.peek().filter(|d| d.is_ascii_digit()) {
                n.push(d);
                chars.next();
            }
            out.push((std::mem::take(&mut text), n.parse().unwrap_or(u128::MAX)));
        } else {
            text.push(c);
            chars.next();
        }
    }
    out.push((text, 0));
    out
}

/// The options close enough to `input`, nearest first.
pub fn suggestion_list<'a>(
    input: &str,
    options: impl IntoIterator<Item = &'a str>,
) -> Vec<&'a str> {
    let threshold = input.chars().count() * 4 / 10 + 1;
    let mut found: Vec<(usize, &str)> = options
        .into_iter()
        .filter_map(|o| lexical_distance(input, o, threshold).map(|d| (d, o)))
        .collect();
    found.sort_by(|x, y| {
        x.0.cmp(&y.0)
            .then_with(|| natural_key(x.1).cmp(&natural_key(y.1)))
    });
    found.into_iter().map(|(_, o)| o).collect()
}

/// ` Did you mean 'a', 'b', or 'c'?` (at most five), or `""`.
pub fn did_you_mean(suggestions: &[&str]) -> String {
    did_you_mean_with(None, suggestions)
}

pub fn did_you_mean_with(sub: Option<&str>, suggestions: &[&str]) -> String {
    let s = &suggestions[..suggestions.len().min(5)];
    let quoted: Vec<String> = s.iter().map(|x| format!("'{x}'")).collect();
    let list = match quoted.len() {
        0 => return String::new(),
        1 => quoted[0].clone(),
        2 => format!("{} or {}", quoted[0], quoted[1]),
        n => format!("{}, or {}", quoted[..n - 1].join(", "), quoted[n - 1]),
    };
    match sub {
        Some(sub) => format!(" Did you mean {sub} {list}?"),
        None => format!(" Did you mean {list}?"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions_match_graphql_core() {
        let types = [
            "MlflowRunTag",
            "MlflowParam",
            "MlflowRunData",
            "MlflowRunInfo",
            "MlflowRunExtension",
            "MlflowExperiment",
        ];
        assert_eq!(
            did_you_mean(&suggestion_list("MlflowRun", types)),
            " Did you mean 'MlflowRunTag', 'MlflowParam', 'MlflowRunData', or 'MlflowRunInfo'?"
        );
        let fields = ["experimentId", "name", "artifactLocation", "tags"];
        assert_eq!(suggestion_list("bogus", fields), vec!["tags"]);
        assert_eq!(suggestion_list("nam", fields), vec!["name"]);
        assert_eq!(suggestion_list("NAME", fields), vec!["name"]);
        assert!(suggestion_list("zzzzzzzz", fields).is_empty());
        assert_eq!(did_you_mean(&["a", "b"]), " Did you mean 'a' or 'b'?");
        assert_eq!(did_you_mean(&[]), "");
        assert_eq!(suggestion_list("a1", ["a10", "a9"]), vec!["a9", "a10"]);
    }
}
