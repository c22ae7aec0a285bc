//! MLflow's random names (`mlflow.utils.name_utils._generate_random_name`):
//! `predicate-noun-N` with N in 0..=1000, at most 20 characters (ten draws,
//! then the last one cut), from MLflow's own word lists, for runs and
//! logged models created without a name.

use rand::seq::SliceRandom;
use rand::Rng;

/// The longest name MLflow generates.
const MAX_LENGTH: usize = 20;

#[rustfmt::skip]
const PREDICATES: &[&str] = &[
    "abundant", "able", "abrasive", "adorable", "adaptable", "adventurous", "aged", "agreeable",
    "ambitious", "amazing", "amusing", "angry", "auspicious", "awesome", "bald", "beautiful",
    "bemused", "bedecked", "big", "bittersweet", "blushing", "bold", "bouncy", "brawny", "bright",
    "burly", "bustling", "calm", "capable", "carefree", "capricious", "caring", "casual",
    "charming", "chill", "classy", "clean", "clumsy", "colorful", "crawling", "dapper", "debonair",
    "dashing", "defiant", "delicate", "delightful", "dazzling", "efficient", "enchanting",
    "entertaining", "enthused", "exultant", "fearless", "flawless", "fortunate", "fun", "funny",
    "gaudy", "gentle", "gifted", "glamorous", "grandiose", "gregarious", "handsome", "hilarious",
    "honorable", "illustrious", "incongruous", "indecisive", "industrious", "intelligent",
    "inquisitive", "intrigued", "invincible", "judicious", "kindly", "languid", "learned",
    "legendary", "likeable", "loud", "luminous", "luxuriant", "lyrical", "magnificent",
    "marvelous", "masked", "melodic", "merciful", "mercurial", "monumental", "mysterious",
    "nebulous", "nervous", "nimble", "nosy", "omniscient", "orderly", "overjoyed", "peaceful",
    "painted", "persistent", "placid", "polite", "popular", "powerful", "puzzled", "rambunctious",
    "rare", "rebellious", "respected", "resilient", "righteous", "receptive", "redolent",
    "resilient", "rogue", "rumbling", "salty", "sassy", "secretive", "selective", "sedate",
    "serious", "shivering", "skillful", "sincere", "skittish", "silent", "smiling", "sneaky",
    "sophisticated", "spiffy", "stately", "suave", "stylish", "tasteful", "thoughtful",
    "thundering", "traveling", "treasured", "trusting", "unequaled", "upset", "unique",
    "unleashed", "useful", "upbeat", "unruly", "valuable", "vaunted", "victorious", "welcoming",
    "whimsical", "wistful", "wise", "worried", "youthful", "zealous",
];

#[rustfmt::skip]
const NOUNS: &[&str] = &[
    "ant", "ape", "asp", "auk", "bass", "bat", "bear", "bee", "bird", "boar", "bug", "calf",
    "carp", "cat", "chimp", "cod", "colt", "conch", "cow", "crab", "crane", "croc", "crow", "cub",
    "deer", "doe", "dog", "dolphin", "donkey", "dove", "duck", "eel", "elk", "fawn", "finch",
    "fish", "flea", "fly", "foal", "fowl", "fox", "frog", "gnat", "gnu", "goat", "goose", "grouse",
    "grub", "gull", "hare", "hawk", "hen", "hog", "horse", "hound", "jay", "kit", "kite", "koi",
    "lamb", "lark", "loon", "lynx", "mare", "midge", "mink", "mole", "moose", "moth", "mouse",
    "mule", "newt", "owl", "ox", "panda", "penguin", "perch", "pig", "pug", "quail", "ram", "rat",
    "ray", "robin", "roo", "rook", "seal", "shad", "shark", "sheep", "shoat", "shrew", "shrike",
    "shrimp", "skink", "skunk", "sloth", "slug", "smelt", "snail", "snake", "snipe", "sow",
    "sponge", "squid", "squirrel", "stag", "steed", "stoat", "stork", "swan", "tern", "toad",
    "trout", "turtle", "vole", "wasp", "whale", "wolf", "worm", "wren", "yak", "zebra",
];

fn draw(rng: &mut impl Rng) -> String {
    format!(
        "{}-{}-{}",
        PREDICATES.choose(rng).copied().unwrap_or("able"),
        NOUNS.choose(rng).copied().unwrap_or("ant"),
        rng.gen_range(0..=1000)
    )
}

/// A new random name, as MLflow's server picks one.
pub fn random_name() -> String {
    let mut rng = rand::thread_rng();
    let mut name = String::new();
    for _ in 0..10 {
        name = draw(&mut rng);
        if name.len() <= MAX_LENGTH {
            return name;
        }
    }
    // Every word is ASCII, so a byte cut is a character cut.
    name.truncate(MAX_LENGTH);
    name
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_have_mlflow_shape_and_length() {
        assert_eq!(PREDICATES.len(), 159);
        assert_eq!(NOUNS.len(), 123);
        for _ in 0..500 {
            let name = random_name();
            assert!(name.len() <= MAX_LENGTH, "{name}");
            let parts: Vec<&str> = name.splitn(3, '-').collect();
            assert!(PREDICATES.contains(&parts[0]), "{name}");
            assert!(
                parts.len() < 3 || NOUNS.iter().any(|n| n.starts_with(parts[1])),
                "{name}"
            );
        }
    }
}
