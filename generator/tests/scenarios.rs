//! Random update scenarios: a seeded generator of template versions, update
//! policies and team edits, and the invariants `rampart update` must keep
//! whatever they are.
//!
//! Each scenario makes a small template v1 (text with LF or CRLF line ends,
//! UTF-8 and Liquid placeholders, binary files holding NUL bytes, executable
//! files), a v2 that edits, adds, deletes and renames files (rename_file
//! migrations, now and then two in a row) and flips modes, and an ownership
//! policy drawn at random (managed, seeded, merged; it may change between the
//! versions). A service is generated at v1, a team edits it at random (edits
//! and new lines, Latin-1 bytes, CRLF conversion, NUL bytes, deletions,
//! chmod, files of its own, one where v2 renames or adds a file), and the
//! update to v2 runs. Then:
//!
//!  (a) no byte the team wrote is lost silently: every line the team added
//!      to a file that is not managed is still there (or the template's
//!      version went beside the untouched file); files the team deleted stay
//!      deleted unless managed; a managed file whose team edits were
//!      overwritten is reported `replaced`; a file the report does not name
//!      is byte for byte as it was; an untouched file ends as the template's;
//!  (b) nothing outside the service is touched (sentinels beside it), and a
//!      hostile policy (paths out of the service or into `.git`) is refused
//!      with exit code 2 before anything is written;
//!  (c) conflict markers or a `.rampart-template` file are always reported
//!      as conflicts;
//!  (d) a second update changes nothing; and, every `KILL_EVERY`th scenario,
//!      the real binary, killed with SIGKILL once or twice at a random moment
//!      of its run (tens of milliseconds, or just after its undo journal
//!      appears), then run again, ends with the tree an uninterrupted update
//!      leaves (and the binary's uninterrupted update with the library's).
//!
//! All templates of a run live in one git repository, as tags `s{seed}-v1`
//! and `s{seed}-v2`, since a repository per scenario would cost most of the
//! time. `RAMPART_KEEP=1` keeps each scenario's folder (the service, and in
//! `debug/` its earlier states, v2 and the policies) and prints where.
//!
//! Knobs: `RAMPART_SCENARIOS` (default 200), `RAMPART_SEED` (first seed,
//! default 1; scenario `i` uses seed `RAMPART_SEED + i`). A failing scenario
//! prints its seed; replay it alone with
//!
//!     RAMPART_SEED=<seed> RAMPART_SCENARIOS=1 cargo test -p rampart --test scenarios -- --nocapture
//!
//! The long run (10,000 scenarios, one command; see BENCHMARKS.md):
//!
//!     RAMPART_SCENARIOS=10000 cargo test --release -p rampart --test scenarios -- --nocapture
//!
//! Every run also generates the shapes of the engine bugs earlier runs
//! found (see `FOUND_BUGS`), fixed since, so that none comes back.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rampart::policy::{Class, Policy};
use rampart::update::{Outcome, Report, UpdateOptions, update};
use rampart::{NewOptions, new_service_with_answers};

mod support;
use support::git;

/// Every how many scenarios the interrupted-update check runs (it starts a
/// process and copies the service, so it is the costly part).
const KILL_EVERY: usize = 10;

/// Shapes of scenarios that hit engine bugs, all fixed since; every run
/// generates them (the seeds that first hit them; each bug also has its
/// smallest form as a test, `found_bug_*`, below):
/// - `rename-beside` (seed 82): v2 renames a merged file and changes it, the
///   team changed it too, and a side holds a NUL byte. The template's
///   version goes beside the new path, and the team's file at the old path
///   is deleted: its edits are lost, under a report of a conflict.
/// - `rename-mode` (seeds 187, 95): v2 renames a file whose executable bit
///   the team changed, the contents needing no merge: the new path gets the
///   template's bit, silently.
/// - `managed-mode` (seeds 28, 44, 93): the team changed only the executable
///   bit of a managed file whose contents v2 changes: the bit is replaced,
///   as for a managed file it should be, but reported `updated`, which says
///   the team had not changed the file, not `replaced`.
/// - `chained-renames` (seeds 5, 27, 35): v2 renames a file twice (a -> b,
///   then b -> c, as a service that skips a version sees it): the team's a
///   stays where it is, c is not written, and the report says nothing or
///   "you deleted it".
/// - `freed-path` (seeds 12, 15, 128): v2 moves a file and adds a new one
///   where it was: the new one is merged with the team's old one, then
///   deleted by the move, and reported as a conflict that is not there.
///   And (seeds 106, 137, 253) when the move stops at a file of the team's
///   own: the new file overwrote the team's file that stayed.
const FOUND_BUGS: &[&str] = &[
    "rename-beside",
    "rename-mode",
    "managed-mode",
    "chained-renames",
    "freed-path",
];

// ---------------------------------------------------------------------------
// A small deterministic PRNG (splitmix64): the same seed, the same scenario.

struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0xD1B5_4A32_D192_ED03)
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n` > 0).
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// True `p` times in a hundred.
    fn percent(&mut self, p: u64) -> bool {
        self.next() % 100 < p
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

// ---------------------------------------------------------------------------
// Templates as the generator sees them: files as lines, before rendering.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Lf,
    Crlf,
    /// LF, but the last line has no newline.
    NoFinalNewline,
    /// Bytes with NUL in them (kept UTF-8: the renderer reads templates as text).
    Binary,
}

#[derive(Clone, Debug)]
struct Spec {
    kind: Kind,
    lines: Vec<String>,
    binary: Vec<u8>,
    exec: bool,
}

impl Spec {
    /// The file as the template stores it.
    fn source(&self) -> Vec<u8> {
        let text = |end: &str, last: bool| -> Vec<u8> {
            let mut out = self.lines.join(end);
            if last && !self.lines.is_empty() {
                out.push_str(end);
            }
            out.into_bytes()
        };
        match self.kind {
            Kind::Lf => text("\n", true),
            Kind::Crlf => text("\r\n", true),
            Kind::NoFinalNewline => text("\n", false),
            Kind::Binary => self.binary.clone(),
        }
    }

    /// The file as rendered for `owner` (its Liquid is plain substitution).
    fn render(&self, owner: &str) -> Vec<u8> {
        match self.kind {
            Kind::Binary => self.source(),
            _ => String::from_utf8(self.source())
                .expect("template text is UTF-8")
                .replace("{{owner}}", owner)
                .replace("{{project-name}}", NAME)
                .into_bytes(),
        }
    }
}

type Template = BTreeMap<String, Spec>;

const NAME: &str = "orders-api";

/// Where template files may live; the folders are ownership patterns too.
const PATHS: &[&str] = &[
    "README.md",
    "LICENSE",
    "Makefile",
    "src/main.rs",
    "src/lib.rs",
    "src/routes/orders.rs",
    "docs/guide.md",
    "docs/notes.txt",
    "ci/run",
    "ci/lint",
    "scripts/deploy.sh",
    "assets/logo.bin",
    "assets/font.bin",
    "config/app.toml",
    "data/table.csv",
    "deploy/compose.yml",
    "moved/README.md",
    "moved/run",
    "moved/blob.bin",
    "moved/app.toml",
];

/// One scenario, fully decided before anything runs.
struct Scenario {
    seed: u64,
    owner: String,
    v1: Template,
    v2: Template,
    policy_v1: String,
    policy_v2: String,
    /// v2's rename_file migrations, in order.
    renames: Vec<(String, String)>,
    /// What makes v2's policy hostile, if it is.
    hostile: Option<String>,
    /// Whether the shapes of `FOUND_BUGS` are generated.
    found_bugs: bool,
    /// Those generated in v2.
    shapes: Shapes,
}

/// Names of `FOUND_BUGS` shapes in a scenario.
type Shapes = BTreeSet<&'static str>;

impl Scenario {
    fn generate(seed: u64, found_bugs: bool, outside: &Path) -> Self {
        let n = seed; // the tag in every line the scenario writes
        let mut rng = Rng::new(seed);
        let owner = rng
            .pick(&["payments", "platform", "caf\u{e9}-team"])
            .to_string();
        let v1 = gen_v1(&mut rng, n);
        let (v2, renames, shapes) = gen_v2(&mut rng, n, &v1, found_bugs);
        let paths: BTreeSet<&str> = v1.keys().chain(v2.keys()).map(String::as_str).collect();
        let (own_v1, own_v2) = gen_ownership(&mut rng, &paths);
        let hostile = rng.percent(4).then(|| hostile_entry(&mut rng, outside));
        let mut policy_v2 = own_v2;
        for (i, (from, to)) in renames.iter().enumerate() {
            policy_v2.push_str(&format!(
                "\n[[migrations]]\nid = \"s{n}-rename-{i}\"\nrename_file = {{ from = \"{from}\", to = \"{to}\" }}\n"
            ));
        }
        if let Some(entry) = &hostile {
            policy_v2.push_str(entry);
        }
        Self {
            seed,
            owner,
            v1,
            v2,
            policy_v1: own_v1,
            policy_v2,
            renames,
            hostile,
            found_bugs,
            shapes,
        }
    }

    fn rendered(&self, template: &Template) -> Files {
        template
            .iter()
            .map(|(path, spec)| {
                let file = File {
                    bytes: spec.render(&self.owner),
                    exec: spec.exec,
                };
                (path.clone(), file)
            })
            .collect()
    }
}

fn text_line(rng: &mut Rng, tag: &str, k: usize) -> String {
    match rng.below(20) {
        0..=9 => format!("{tag} line {k}"),
        10 | 11 => String::new(),
        12 | 13 => "}".into(),
        14 | 15 => "owner: {{owner}}".into(),
        16 | 17 => format!("caf\u{e9} \u{2014} {tag} {k}"),
        _ => "name = \"{{project-name}}\"".into(),
    }
}

fn binary_bytes(rng: &mut Rng, len: usize) -> Vec<u8> {
    // No `{`, so the renderer never takes a binary file for Liquid.
    const ALPHABET: &[u8] = b"\0\0\0\x01\x02\x7f\nABCXYZ0189 ";
    (0..len).map(|_| *rng.pick(ALPHABET)).collect()
}

fn new_spec(rng: &mut Rng, path: &str, tag: &str) -> Spec {
    let kind = if path.ends_with(".bin") {
        Kind::Binary
    } else {
        *rng.pick(&[
            Kind::Lf,
            Kind::Lf,
            Kind::Lf,
            Kind::Crlf,
            Kind::NoFinalNewline,
        ])
    };
    let scripty = path.starts_with("ci/") || path.starts_with("scripts/") || path == "moved/run";
    let lines = (0..3 + rng.below(10))
        .map(|k| text_line(rng, tag, k))
        .collect();
    let len = 20 + rng.below(40);
    Spec {
        kind,
        lines,
        binary: binary_bytes(rng, len),
        exec: rng.percent(if scripty { 70 } else { 10 }),
    }
}

fn gen_v1(rng: &mut Rng, n: u64) -> Template {
    let mut template = Template::new();
    let count = 3 + rng.below(5);
    while template.len() < count {
        let path = *rng.pick(PATHS);
        if !path.starts_with("moved/") {
            let spec = new_spec(rng, path, &format!("s{n} v1 {path}"));
            template.insert(path.to_owned(), spec);
        }
    }
    template
}

/// A path in neither version yet, or `None` when the pool is used up.
fn unused_path(rng: &mut Rng, v1: &Template, v2: &Template) -> Option<String> {
    let free: Vec<&str> = PATHS
        .iter()
        .copied()
        .filter(|p| !v1.contains_key(*p) && !v2.contains_key(*p))
        .collect();
    (!free.is_empty()).then(|| rng.pick(&free).to_string())
}

/// The template's own edit of a file between versions.
fn edit_spec(rng: &mut Rng, spec: &mut Spec, tag: &str) {
    for k in 0..1 + rng.below(3) {
        if spec.kind == Kind::Binary {
            let at = rng.below(spec.binary.len());
            spec.binary[at] = b'V';
            continue;
        }
        let line = format!("{tag} change {k}");
        let at = rng.below(spec.lines.len().max(1));
        match rng.below(4) {
            0 if !spec.lines.is_empty() => spec.lines[at] = line,
            1 => spec.lines.insert(at, line),
            2 if spec.lines.len() > 1 => drop(spec.lines.remove(at)),
            _ => spec.lines.push(line),
        }
    }
    if spec.kind == Kind::Lf && rng.percent(3) {
        spec.kind = Kind::Crlf;
    }
}

/// v2: each v1 file is kept, edited, deleted or renamed, modes flip, new
/// files arrive. Returns it and its renames in migration order.
fn gen_v2(
    rng: &mut Rng,
    n: u64,
    v1: &Template,
    found_bugs: bool,
) -> (Template, Vec<(String, String)>, Shapes) {
    let mut v2 = v1.clone();
    let mut renames = Vec::new();
    let mut shapes = Shapes::new();
    for path in v1.keys() {
        let tag = format!("s{n} v2 {path}");
        match rng.below(100) {
            0..=14 => drop(v2.remove(path)),
            15..=29 => {
                let Some(to) = unused_path(rng, v1, &v2) else {
                    continue;
                };
                let mut spec = v2.remove(path).expect("a v1 file");
                if rng.percent(50) {
                    edit_spec(rng, &mut spec, &tag);
                }
                v2.insert(to.clone(), spec);
                renames.push((path.clone(), to.clone()));
                if found_bugs && rng.percent(30) {
                    chain_rename(rng, v1, &mut v2, &mut renames, &to);
                    shapes.insert("chained-renames");
                }
            }
            30..=64 => edit_spec(rng, v2.get_mut(path).expect("a v1 file"), &tag),
            _ => {}
        }
        if let Some(spec) = v2.get_mut(path)
            && rng.percent(10)
        {
            spec.exec = !spec.exec;
        }
    }
    // Now and then a new file where a moved one was (a README moved to
    // docs/, a stub in its place).
    for (from, _) in &renames {
        let stub = rng.percent(15);
        if found_bugs && stub && v1.contains_key(from) && !v2.contains_key(from) {
            let spec = new_spec(rng, from, &format!("s{n} v2 stub {from}"));
            v2.insert(from.clone(), spec);
            shapes.insert("freed-path");
        }
    }
    for _ in 0..rng.below(3) {
        if let Some(path) = unused_path(rng, v1, &v2) {
            let spec = new_spec(rng, &path, &format!("s{n} v2 new {path}"));
            v2.insert(path, spec);
        }
    }
    (v2, renames, shapes)
}

/// Renames `to` once more (found bug `chained-renames`).
fn chain_rename(
    rng: &mut Rng,
    v1: &Template,
    v2: &mut Template,
    renames: &mut Vec<(String, String)>,
    to: &str,
) {
    if let Some(next) = unused_path(rng, v1, v2) {
        let spec = v2.remove(to).expect("just renamed");
        v2.insert(next.clone(), spec);
        renames.push((to.to_owned(), next));
    }
}

/// The `[ownership]` tables of v1 and v2: each path (or its folder) managed,
/// seeded or merged, and now and then a different class in v2.
fn gen_ownership(rng: &mut Rng, paths: &BTreeSet<&str>) -> (String, String) {
    let mut v1 = (BTreeSet::new(), BTreeSet::new());
    let mut v2 = (BTreeSet::new(), BTreeSet::new());
    for path in paths {
        let pattern = match path.rsplit_once('/') {
            Some((folder, _)) if rng.percent(25) => format!("{folder}/**"),
            _ => path.to_string(),
        };
        let class = rng.below(10);
        let class_v2 = if rng.percent(15) {
            rng.below(10)
        } else {
            class
        };
        for (class, (managed, seeded)) in [(class, &mut v1), (class_v2, &mut v2)] {
            match class {
                0 | 1 => managed.insert(pattern.clone()),
                2 | 3 => seeded.insert(pattern.clone()),
                _ => false,
            };
        }
    }
    let table = |(managed, seeded): (BTreeSet<String>, BTreeSet<String>)| {
        let list = |set: BTreeSet<String>| {
            let quoted: Vec<String> = set.into_iter().map(|p| format!("\"{p}\"")).collect();
            quoted.join(", ")
        };
        format!(
            "[ownership]\nmanaged = [{}]\nseeded = [{}]\n",
            list(managed),
            list(seeded)
        )
    };
    (table(v1), table(v2))
}

/// A policy entry that reaches out of the service or into `.git`.
fn hostile_entry(rng: &mut Rng, outside: &Path) -> String {
    let outside = outside.display();
    let to = [
        "../sentinel-dir/x".to_owned(),
        format!("{outside}/sentinel-dir/x"),
        "/tmp/x".to_owned(),
        ".git/hooks/x".to_owned(),
        "src/../../x".to_owned(),
        ".GIT/hooks/pre-commit".to_owned(),
    ];
    match rng.below(8) {
        6 => "\n[[migrations]]\nid = \"evil\"\nrename_file = { from = \"../sentinel.txt\", to = \"x\" }\n"
            .to_owned(),
        7 => "\n[[migrations]]\nid = \"evil\"\nrename_answer = { from = \"a\", to = \"b\" }\n\
              rename_file = { from = \"README.md\", to = \"../x\" }\n"
            .to_owned(),
        i => format!(
            "\n[[migrations]]\nid = \"evil\"\nrename_file = {{ from = \"README.md\", to = \"{}\" }}\n",
            to[i]
        ),
    }
}

// ---------------------------------------------------------------------------
// Trees on disk.

#[derive(Clone, Debug, PartialEq, Eq)]
struct File {
    bytes: Vec<u8>,
    exec: bool,
}

type Files = BTreeMap<String, File>;

/// Everything under a folder: files with contents and executable bit, and folders.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Tree {
    files: Files,
    dirs: BTreeSet<String>,
}

impl Tree {
    fn read(root: &Path) -> Self {
        let mut tree = Self::default();
        tree.walk(root, "");
        tree
    }

    fn walk(&mut self, dir: &Path, prefix: &str) {
        let mut entries: Vec<_> = fs::read_dir(dir).unwrap().map(Result::unwrap).collect();
        entries.sort_by_key(|e| e.file_name());
        for entry in entries {
            let name = format!("{prefix}{}", entry.file_name().to_string_lossy());
            let meta = fs::symlink_metadata(entry.path()).unwrap();
            if meta.is_dir() {
                self.dirs.insert(name.clone());
                self.walk(&entry.path(), &format!("{name}/"));
            } else {
                let file = File {
                    bytes: fs::read(entry.path()).unwrap(),
                    exec: meta.permissions().mode() & 0o111 != 0,
                };
                self.files.insert(name, file);
            }
        }
    }

    fn without_git(mut self) -> Self {
        let git = |p: &String| p == ".git" || p.starts_with(".git/");
        self.files.retain(|p, _| !git(p));
        self.dirs.retain(|p| !git(p));
        self
    }
}

/// What differs between two trees, for a failure message.
fn tree_diff(a: &Tree, b: &Tree) -> String {
    let mut out = Vec::new();
    for path in a
        .files
        .keys()
        .chain(b.files.keys())
        .collect::<BTreeSet<_>>()
    {
        match (a.files.get(path), b.files.get(path)) {
            (x, y) if x == y => {}
            (Some(_), None) => out.push(format!("only in the first: {path}")),
            (None, Some(_)) => out.push(format!("only in the second: {path}")),
            (Some(x), Some(y)) if x.bytes == y.bytes => out.push(format!("mode differs: {path}")),
            _ => out.push(format!("contents differ: {path}")),
        }
    }
    for dir in a.dirs.symmetric_difference(&b.dirs) {
        out.push(format!("folder in one only: {dir}"));
    }
    out.join("; ")
}

fn write_file(path: &Path, file: &File) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, &file.bytes).unwrap();
    let mode = if file.exec { 0o755 } else { 0o644 };
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
}

fn copy_tree(from: &Path, to: &Path) {
    let tree = Tree::read(from);
    for dir in &tree.dirs {
        fs::create_dir_all(to.join(dir)).unwrap();
    }
    for (path, file) in &tree.files {
        write_file(&to.join(path), file);
    }
}

/// The lines of a file, without their ends: a team that turned a file to
/// CRLF changed its line ends, not its lines (the merge treats it so).
fn lines(bytes: &[u8]) -> BTreeSet<&[u8]> {
    let mut lines: Vec<&[u8]> = bytes.split(|&b| b == b'\n').collect();
    if lines.last() == Some(&&b""[..]) {
        lines.pop();
    }
    lines
        .into_iter()
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
        .collect()
}

/// Whether every line ends in CRLF (the last may have no end).
fn is_crlf(bytes: &[u8]) -> bool {
    let newlines = bytes.iter().filter(|&&b| b == b'\n').count();
    newlines > 0 && bytes.windows(2).filter(|w| w == b"\r\n").count() == newlines
}

fn has_marker(bytes: &[u8]) -> bool {
    bytes
        .split(|&b| b == b'\n')
        .any(|l| l.starts_with(b"<<<<<<< "))
}

// ---------------------------------------------------------------------------
// The template source: one git repository, two tags per scenario.

const CONFIG: &str = "[template]\ncargo_generate_version = \">=0.23.0\"\n\n\
    [placeholders.owner]\ntype = \"string\"\nprompt = \"Owning team?\"\ndefault = \"platform\"\n";

/// Replaces the repository's template and policy by these and tags the commit.
fn commit_version(repo: &Path, template: &Template, policy: &str, tag: &str) {
    let dir = repo.join("template");
    if dir.exists() {
        fs::remove_dir_all(&dir).unwrap();
    }
    fs::create_dir_all(&dir).unwrap();
    fs::write(dir.join("cargo-generate.toml"), CONFIG).unwrap();
    for (path, spec) in template {
        let file = File {
            bytes: spec.source(),
            exec: spec.exec,
        };
        write_file(&dir.join(path), &file);
    }
    fs::write(repo.join("template-update.toml"), policy).unwrap();
    git(repo, &["add", "--all"]);
    git(repo, &["commit", "--quiet", "--allow-empty", "-m", tag]);
    git(repo, &["tag", tag]);
}

// ---------------------------------------------------------------------------
// The team's work on its service.

/// v2's renames with chains folded (a -> b, b -> c is a -> c): where a
/// team's file should end up.
fn folded(renames: &[(String, String)]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for (from, to) in renames {
        match out.iter_mut().find(|(_, end)| end == from) {
            Some(rename) => rename.1 = to.clone(),
            None => out.push((from.clone(), to.clone())),
        }
    }
    out
}

fn chmod(path: &Path, exec: bool) {
    let mode = if exec { 0o755 } else { 0o644 };
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
}

/// Edits, deletions, mode changes on generated files, then files of the
/// team's own. Returns the `FOUND_BUGS` shapes it made.
fn team_edits(rng: &mut Rng, sc: &Scenario, dir: &Path, generated: &Files) -> Shapes {
    let tag = format!("team s{}", sc.seed);
    let v2 = sc.rendered(&sc.v2);
    let mut k = 0;
    let mut shapes = Shapes::new();
    // A hostile policy does not parse: that update is refused anyway.
    let policy = Policy::parse(&sc.policy_v2).unwrap_or_default();
    for (path, file) in generated {
        if !rng.percent(45) {
            continue;
        }
        let full = dir.join(path);
        let target = sc.renames.iter().find(|(from, _)| from == path);
        let dest = target.map_or(path, |(_, to)| to);
        // Without found_bugs (a test of the generator), no FOUND_BUGS shapes.
        let renamed = target.is_some() && !sc.found_bugs;
        let managed = policy.class(dest) == Class::Managed && !sc.found_bugs;
        let binary = file.bytes.contains(&0);
        let chmod_it = |shapes: &mut Shapes| {
            chmod(&full, !file.exec);
            if target.is_some() {
                shapes.insert("rename-mode");
            }
        };
        match rng.below(100) {
            0..=9 => fs::remove_file(&full).unwrap(),
            10..=19 if !renamed && !managed => {
                if policy.class(dest) == Class::Managed {
                    shapes.insert("managed-mode");
                }
                chmod_it(&mut shapes);
            }
            // The same change as the template's: nothing to merge.
            20..=22 if v2.contains_key(path) => fs::write(&full, &v2[path].bytes).unwrap(),
            _ if renamed && binary => {}
            _ => {
                let mut bytes = file.bytes.clone();
                edit_bytes(rng, &mut bytes, &tag, &mut k, !renamed);
                if target.is_some() && bytes.contains(&0) {
                    shapes.insert("rename-beside");
                }
                fs::write(&full, bytes).unwrap();
                // The edit may have changed nothing (CRLF made CRLF): then
                // this is a mode change alone, managed-mode's shape.
                if !renamed && !managed && rng.percent(10) {
                    if policy.class(dest) == Class::Managed {
                        shapes.insert("managed-mode");
                    }
                    chmod_it(&mut shapes);
                }
            }
        }
    }
    own_files(rng, sc, dir, &tag);
    shapes
}

/// One to three edits of a file's bytes: lines replaced, inserted (some
/// with Latin-1 or NUL bytes), deleted, or every line end made CRLF.
fn edit_bytes(rng: &mut Rng, bytes: &mut Vec<u8>, tag: &str, k: &mut usize, nul: bool) {
    if bytes.contains(&0) {
        match rng.below(2) {
            0 if !bytes.is_empty() => {
                let at = rng.below(bytes.len());
                bytes[at] = 0xff;
            }
            _ => bytes.extend(format!("\0{tag}\0\n").bytes()),
        }
        return;
    }
    let crlf = bytes.windows(2).any(|w| w == b"\r\n");
    let mut lines: Vec<Vec<u8>> = bytes
        .split_inclusive(|&b| b == b'\n')
        .map(<[u8]>::to_vec)
        .collect();
    for _ in 0..1 + rng.below(3) {
        *k += 1;
        let mut line = format!("{tag} edit {k}").into_bytes();
        if rng.percent(20) {
            line.extend(b" caf\xe9 cr\xe8me"); // Latin-1
        }
        // Drawn either way, so that both modes draw the same numbers.
        let with_nul = rng.percent(3);
        if nul && with_nul {
            line.extend(b" \0");
        }
        line.extend(if crlf { &b"\r\n"[..] } else { b"\n" });
        let at = rng.below(lines.len() + 1);
        match rng.below(7) {
            0 | 1 if at < lines.len() => lines[at] = line,
            2 if at < lines.len() => drop(lines.remove(at)),
            3 => {
                for line in &mut lines {
                    if line.ends_with(b"\n") && !line.ends_with(b"\r\n") {
                        line.insert(line.len() - 1, b'\r');
                    }
                }
            }
            _ => {
                if let Some(last) = lines.last_mut().filter(|l| !l.ends_with(b"\n")) {
                    last.push(b'\n');
                }
                lines.insert(at.min(lines.len()), line);
            }
        }
    }
    *bytes = lines.concat();
}

/// Files of the team's own, among them one where v2 moves a file and one
/// where it adds one.
fn own_files(rng: &mut Rng, sc: &Scenario, dir: &Path, tag: &str) {
    let own = |path: &str, exec: bool, rng: &mut Rng| {
        let mut bytes = format!("{tag} own {path}\nsecond line\n").into_bytes();
        if rng.percent(30) {
            bytes.extend(b"caf\xe9\n");
        }
        write_file(&dir.join(path), &File { bytes, exec });
    };
    if rng.percent(50) {
        own("team/notes.md", false, rng);
    }
    if rng.percent(20) {
        own("team/tool.sh", true, rng);
    }
    let targets: Vec<String> = folded(&sc.renames).into_iter().map(|(_, to)| to).collect();
    if !targets.is_empty() && rng.percent(30) {
        own(&rng.pick(&targets).clone(), false, rng);
    }
    let added: Vec<&String> = sc
        .v2
        .keys()
        .filter(|p| !sc.v1.contains_key(*p) && !sc.renames.iter().any(|(_, to)| to == *p))
        .collect();
    if !added.is_empty() && rng.percent(20) {
        own(&rng.pick(&added).to_string(), false, rng);
    }
}

// ---------------------------------------------------------------------------
// The invariants of one successful update.

const STATE: &str = ".rampart.toml";
const BESIDE: &str = ".rampart-template";

/// One update's inputs and result, and the problems found in it.
struct Checks<'a> {
    /// The service as generated (v1 rendered).
    base: &'a Files,
    /// v2 rendered.
    v2: Files,
    before: &'a Tree,
    after: &'a Tree,
    report: &'a Report,
    renames: Vec<(String, String)>,
    policy_v1: Policy,
    policy_v2: Policy,
    problems: Vec<String>,
}

impl<'a> Checks<'a> {
    fn new(
        sc: &Scenario,
        base: &'a Files,
        before: &'a Tree,
        after: &'a Tree,
        report: &'a Report,
    ) -> Self {
        Self {
            base,
            v2: sc.rendered(&sc.v2),
            before,
            after,
            report,
            renames: folded(&sc.renames),
            policy_v1: Policy::parse(&sc.policy_v1).unwrap(),
            policy_v2: Policy::parse(&sc.policy_v2).unwrap(),
            problems: Vec::new(),
        }
    }

    fn run(mut self) -> Vec<String> {
        self.unreported_files_are_untouched();
        self.replaced_team_work_is_reported();
        self.team_lines_survive();
        self.team_modes_survive();
        self.deleted_files_stay_deleted();
        self.untouched_files_take_the_template();
        self.new_template_files_arrive();
        self.conflicts_are_reported();
        self.problems
    }

    fn problem(&mut self, text: String) {
        self.problems.push(text);
    }

    fn entry(&self, path: &str) -> Option<&'a rampart::update::FileChange> {
        self.report.files.iter().find(|f| f.path == path)
    }

    fn outcome(&self, path: &str) -> String {
        self.entry(path)
            .map_or("unreported".into(), |f| format!("{:?}", f.outcome))
    }

    /// The class the engine gives a path: the new policy's when v2 has it.
    fn class(&self, path: &str) -> Class {
        match self.entry(path) {
            Some(entry) => entry.class,
            None if self.v2.contains_key(path) => self.policy_v2.class(path),
            None => self.policy_v1.class(path),
        }
    }

    /// The rename target of `path`, if v2 moves it.
    fn target(&self, path: &str) -> Option<&str> {
        self.renames
            .iter()
            .find(|(from, _)| from == path)
            .map(|(_, to)| to.as_str())
    }

    /// v2 moves `path` where the team has a file of its own: both stay put.
    fn collides(&self, path: &str) -> bool {
        self.target(path)
            .is_some_and(|to| self.before.files.contains_key(to))
    }

    /// Where the team's copy of `path` belongs after the update.
    fn dest(&self, path: &str) -> String {
        match self.target(path) {
            Some(to) if !self.collides(path) => to.to_owned(),
            _ => path.to_owned(),
        }
    }

    /// A file v2 adds: at a new path, or where it moved one from.
    fn is_new_in_v2(&self, path: &str) -> bool {
        self.v2.contains_key(path)
            && (!self.base.contains_key(path) || self.target(path).is_some())
            && !self.renames.iter().any(|(_, to)| to == path)
    }

    /// The team's file at `path` before the update, unless it moves away.
    fn staying(&self, path: &str) -> Option<&'a File> {
        match self.dest(path) == path {
            true => self.before.files.get(path),
            false => None,
        }
    }

    /// (a) A file the report does not name is byte for byte as it was.
    fn unreported_files_are_untouched(&mut self) {
        let paths: BTreeSet<&String> = self
            .before
            .files
            .keys()
            .chain(self.after.files.keys())
            .collect();
        for path in paths {
            let named = self.entry(path).is_some()
                || self
                    .report
                    .files
                    .iter()
                    .any(|f| f.beside.as_deref() == Some(path.as_str()))
                || self.target(path).is_some_and(|to| self.entry(to).is_some());
            if path != STATE && !named && self.before.files.get(path) != self.after.files.get(path)
            {
                self.problem(format!("{path}: changed, but the report does not name it"));
            }
        }
    }

    /// (a) Managed files are replaced by design, but the report must say so
    /// when that overwrote something the team had changed.
    fn replaced_team_work_is_reported(&mut self) {
        for entry in &self.report.files {
            if entry.class != Class::Managed || entry.beside.is_some() {
                continue;
            }
            let source = match self.renames.iter().find(|(_, to)| *to == entry.path) {
                Some((from, _)) if !self.before.files.contains_key(&entry.path) => from.as_str(),
                _ => entry.path.as_str(),
            };
            // A new file where the template moved one away: the team's
            // file there moved along, and is checked where it went.
            let moved_away = self.renames.iter().any(|(from, _)| from == &entry.path);
            let Some(team) = self.before.files.get(source).filter(|_| !moved_away) else {
                continue;
            };
            let (base, now) = (self.base.get(source), self.after.files.get(&entry.path));
            // Lost: what the team changed is not what the file now has.
            let bytes_lost = base.is_none_or(|b| b.bytes != team.bytes)
                && now.is_none_or(|n| n.bytes != team.bytes);
            let mode_lost = base.is_some_and(|b| b.exec != team.exec)
                && now.is_some_and(|n| n.exec != team.exec);
            // A managed file the template dropped goes, whatever its mode.
            let dropped = entry.outcome == Outcome::Removed && !bytes_lost;
            if (bytes_lost || mode_lost) && !dropped && entry.outcome != Outcome::Replaced {
                self.problem(format!(
                    "{}: managed, the team's edits were overwritten, but reported {:?}",
                    entry.path, entry.outcome
                ));
            }
        }
    }

    /// (a) Every line the team added to a file that is not managed is still
    /// in it, or in the file it was renamed to.
    fn team_lines_survive(&mut self) {
        for (path, team) in &self.before.files {
            let base = self.base.get(path).map_or(&b""[..], |f| &f.bytes);
            if base == team.bytes || path == STATE || path.starts_with(".git/") {
                continue;
            }
            let dest = self.dest(path);
            if self.class(&dest) == Class::Managed {
                continue;
            }
            let base_lines = lines(base);
            let added: Vec<&[u8]> = lines(&team.bytes)
                .into_iter()
                .filter(|l| !base_lines.contains(l))
                .collect();
            let Some(now) = self.after.files.get(&dest) else {
                self.problem(format!(
                    "{path}: edited by the team, gone after the update ({})",
                    self.outcome(&dest)
                ));
                continue;
            };
            let now_lines = lines(&now.bytes);
            let converted =
                is_crlf(&team.bytes) && !base.contains(&b'\r') && !team.bytes.contains(&0);
            if converted && !is_crlf(&now.bytes) && now.bytes != team.bytes {
                self.problem(format!(
                    "{path}: the team made it CRLF, {dest} is not after the update"
                ));
            }
            if let Some(lost) = added.iter().find(|l| !now_lines.contains(*l)) {
                let marked = if has_marker(&now.bytes) {
                    ", though it has conflict markers"
                } else {
                    ""
                };
                self.problem(format!(
                    "{path}: the team's line {:?} is not in {dest} after the update ({}{marked})",
                    String::from_utf8_lossy(lost),
                    self.outcome(&dest)
                ));
            }
        }
    }

    /// (a) A file the team made executable (or not) and keeps stays so.
    fn team_modes_survive(&mut self) {
        for (path, team) in &self.before.files {
            let Some(base) = self.base.get(path) else {
                continue;
            };
            let dest = self.dest(path);
            if team.exec == base.exec || self.class(&dest) == Class::Managed {
                continue;
            }
            if let Some(now) = self.after.files.get(&dest)
                && now.exec != team.exec
            {
                self.problem(format!(
                    "{path}: the team set its executable bit to {}, {dest} has {} after the update ({})",
                    team.exec,
                    now.exec,
                    self.outcome(&dest)
                ));
            }
        }
    }

    /// (a) A file the team deleted stays deleted unless managed.
    fn deleted_files_stay_deleted(&mut self) {
        for path in self.base.keys() {
            if self.before.files.contains_key(path) {
                continue;
            }
            let dest = self.dest(path);
            if self.class(&dest) == Class::Managed {
                continue;
            }
            for gone in [path, &dest] {
                // A file v2 puts where one moved away is new, not the deleted one back.
                let stub = self.is_new_in_v2(gone);
                if !stub && self.after.files.get(gone) != self.before.files.get(gone) {
                    self.problem(format!(
                        "{path}: deleted by the team, but {gone} is there after the update ({})",
                        self.outcome(gone)
                    ));
                }
            }
        }
    }

    /// A file the team left alone ends as the template's v2 (or, seeded, as it was).
    fn untouched_files_take_the_template(&mut self) {
        for (path, generated) in self.base {
            if self.before.files.get(path) != Some(generated) || self.collides(path) {
                continue;
            }
            let dest = self.dest(path);
            let seeded = self.class(&dest) == Class::Seeded;
            let now = self.after.files.get(&dest);
            let ok = match (self.v2.get(&dest), now) {
                (_, Some(now)) if seeded => now.bytes == generated.bytes,
                (Some(theirs), Some(now)) => now == theirs,
                (None, None) => true,
                _ => false,
            };
            if !ok {
                self.problem(format!(
                    "{path}: untouched by the team, but {dest} is not the template's after the update ({})",
                    self.outcome(&dest)
                ));
            }
            if dest != *path && self.after.files.contains_key(path) && !self.is_new_in_v2(path) {
                self.problem(format!(
                    "{path}: renamed to {dest}, but still there after the update"
                ));
            }
        }
    }

    /// A file new in v2 arrives, unless the team has its own there.
    fn new_template_files_arrive(&mut self) {
        let mut problems = Vec::new();
        for (path, theirs) in &self.v2 {
            if !self.is_new_in_v2(path) {
                continue;
            }
            let ok = match (self.staying(path), self.class(path)) {
                (None, _) => self.after.files.get(path) == Some(theirs),
                (Some(own), Class::Seeded) => self.after.files.get(path) == Some(own),
                // Merged, a managed one too (the team's own file is never
                // overwritten): team_lines_survive.
                (Some(_), Class::Merged | Class::Managed) => true,
            };
            if !ok {
                problems.push(format!(
                    "{path}: new in v2, not as expected after the update ({})",
                    self.outcome(path)
                ));
            }
        }
        self.problems.extend(problems);
    }
}

impl Checks<'_> {
    /// (c) Markers and side files are reported as conflicts, and a reported
    /// conflict is there to see.
    fn conflicts_are_reported(&mut self) {
        let conflicted = self.report.conflicted();
        for (path, file) in &self.after.files {
            let new_marker = has_marker(&file.bytes)
                && !self
                    .before
                    .files
                    .get(path)
                    .is_some_and(|f| has_marker(&f.bytes));
            if new_marker && !conflicted.contains(&path.as_str()) {
                self.problem(format!(
                    "{path}: has conflict markers, but is not reported conflicted"
                ));
            }
            let Some(stem) = path.strip_suffix(BESIDE) else {
                continue;
            };
            let named = self
                .entry(stem)
                .is_some_and(|f| f.beside.as_deref() == Some(path.as_str()));
            if !named || !conflicted.contains(&stem) {
                self.problem(format!(
                    "{path}: a side file the report does not give as a conflict"
                ));
            }
            // The team's copy, moved along when the template moved it.
            let source = match self.renames.iter().find(|(_, to)| to == stem) {
                Some((from, _)) if !self.before.files.contains_key(stem) => from.as_str(),
                _ => stem,
            };
            if self.after.files.get(stem) != self.before.files.get(source) {
                self.problem(format!(
                    "{stem}: has a side file, but the team's copy changed"
                ));
            }
            if self.v2.get(stem).map(|f| &f.bytes) != Some(&file.bytes) {
                self.problem(format!("{path}: is not the template's v2 of {stem}"));
            }
        }
        for &path in &conflicted {
            let marked = self
                .after
                .files
                .get(path)
                .is_some_and(|f| has_marker(&f.bytes));
            let beside = self.after.files.contains_key(&format!("{path}{BESIDE}"));
            if !marked && !beside {
                self.problem(format!(
                    "{path}: reported conflicted, but has no markers and no side file"
                ));
            }
        }
        if (self.after.files.keys().any(|p| p.ends_with(BESIDE))
            || self.after.files.values().any(|f| has_marker(&f.bytes)))
            && conflicted.is_empty()
        {
            self.problem("conflicts in the tree, but the update reported success".into());
        }
    }
}

// ---------------------------------------------------------------------------
// Running scenarios.

fn options(dir: &Path, to: &str) -> UpdateOptions {
    UpdateOptions {
        path: dir.to_owned(),
        to: Some(to.to_owned()),
        allow_dirty: true,
        ..UpdateOptions::default()
    }
}

/// Counts over a run, printed at its end.
#[derive(Default)]
struct Stats {
    scenarios: usize,
    hostile: usize,
    with_conflicts: usize,
    outcomes: BTreeMap<String, usize>,
    kills: usize,
    /// Kills that left an undo journal: the update was cut mid-way.
    kills_mid_update: usize,
}

/// A folder holding the service and, beside it, files it must never touch.
fn work_dir() -> tempfile::TempDir {
    let work = tempfile::tempdir().unwrap();
    fs::write(work.path().join("sentinel.txt"), "outside the service\n").unwrap();
    fs::create_dir_all(work.path().join("sentinel-dir")).unwrap();
    fs::write(work.path().join("sentinel-dir/inner"), "outside too\n").unwrap();
    work
}

fn outside(work: &Path) -> Tree {
    let mut tree = Tree::read(work);
    let ours = |p: &str| {
        ["svc", "debug"]
            .iter()
            .any(|d| p == *d || p.starts_with(&format!("{d}/")))
    };
    tree.files.retain(|p, _| !ours(p));
    tree.dirs.retain(|p| !ours(p));
    tree
}

/// Generates the service at v1, checking it against the model of the template.
fn generate(repo: &Path, sc: &Scenario, dir: &Path) -> Result<Files, String> {
    let opts = NewOptions {
        name: NAME.into(),
        database: None,
        path: Some(dir.to_owned()),
        git: false,
        template: Some(format!("{}@s{}-v1", repo.display(), sc.seed)),
    };
    new_service_with_answers(&opts, &[("owner".into(), sc.owner.clone())])
        .map_err(|e| format!("rampart new failed: {e}"))?;
    let mut generated = Tree::read(dir).files;
    generated.retain(|p, _| p != STATE && p != ".env");
    if generated != sc.rendered(&sc.v1) {
        return Err("the generated service is not the model's v1 (test bug?)".into());
    }
    // A git folder the update must leave alone (hostile policies aim at it).
    write_file(
        &dir.join(".git/hooks/keep"),
        &File {
            bytes: b"keep\n".to_vec(),
            exec: true,
        },
    );
    Ok(generated)
}

/// One scenario from its seed; the problems it found.
fn run_scenario(repo: &Path, seed: u64, found_bugs: bool, stats: &mut Stats) -> Vec<String> {
    let mut work = work_dir();
    let sc = Scenario::generate(seed, found_bugs, work.path());
    let mut rng = Rng::new(seed ^ 0x5eed);
    commit_version(repo, &sc.v1, &sc.policy_v1, &format!("s{seed}-v1"));
    commit_version(repo, &sc.v2, &sc.policy_v2, &format!("s{seed}-v2"));
    let dir = work.path().join("svc");
    let generated = match generate(repo, &sc, &dir) {
        Ok(files) => files,
        Err(problem) => return vec![problem],
    };
    let mut shapes = team_edits(&mut rng, &sc, &dir, &generated);
    shapes.extend(&sc.shapes);
    // What a failure shows: the found bugs' shapes the scenario has.
    let with_shapes = |mut problems: Vec<String>| {
        if !problems.is_empty() && !shapes.is_empty() {
            problems.push(format!("shapes of found bugs in this scenario: {shapes:?}"));
        }
        problems
    };
    keep_for_debugging(&mut work, &sc, &dir, &generated);
    let before = Tree::read(&dir);
    let outside_before = outside(work.path());
    let spare = tempfile::tempdir().unwrap();
    let kill = sc.hostile.is_none() && seed.is_multiple_of(KILL_EVERY as u64);
    if kill {
        copy_tree(&dir, spare.path());
    }
    stats.scenarios += 1;
    let to = format!("s{seed}-v2");
    let result = update(&options(&dir, &to));
    let mut problems = Vec::new();
    if outside(work.path()) != outside_before {
        problems.push("files outside the service changed".to_owned());
    }
    if let Some(hostile) = &sc.hostile {
        stats.hostile += 1;
        problems.extend(refused(result, hostile, &before, &Tree::read(&dir)));
        return with_shapes(problems);
    }
    let report = match result {
        Ok(report) => report,
        Err(e) => return with_shapes(vec![format!("update failed: {e}")]),
    };
    tally(stats, &report);
    let after = Tree::read(&dir);
    problems.extend(Checks::new(&sc, &generated, &before, &after, &report).run());
    problems.extend(rerun_is_noop(&dir, &to, &after));
    if kill {
        problems.extend(interrupted(&mut rng, spare.path(), &to, &after, stats));
    }
    with_shapes(problems)
}

/// With `RAMPART_KEEP=1`, keeps the scenario's folder, with the service as
/// generated and as the team left it, both template versions rendered and
/// their policies, and prints where it is.
fn keep_for_debugging(work: &mut tempfile::TempDir, sc: &Scenario, dir: &Path, generated: &Files) {
    if !std::env::var("RAMPART_KEEP").is_ok_and(|v| v == "1") {
        return;
    }
    let debug = work.path().join("debug");
    copy_tree(dir, &debug.join("before-update"));
    for (name, files) in [("generated", generated), ("v2", &sc.rendered(&sc.v2))] {
        for (path, file) in files {
            write_file(&debug.join(name).join(path), file);
        }
    }
    fs::write(debug.join("policy-v1.toml"), &sc.policy_v1).unwrap();
    fs::write(debug.join("policy-v2.toml"), &sc.policy_v2).unwrap();
    eprintln!("scenario kept in {}", work.path().display());
    work.disable_cleanup(true);
}

fn tally(stats: &mut Stats, report: &Report) {
    if !report.conflicted().is_empty() {
        stats.with_conflicts += 1;
    }
    for file in &report.files {
        let outcome = match &file.beside {
            Some(_) => "Conflicted (beside)".to_owned(),
            None => format!("{:?}", file.outcome),
        };
        *stats.outcomes.entry(outcome).or_default() += 1;
    }
}

/// (b) A hostile policy: refused as the user's to fix, nothing written.
fn refused(
    result: Result<Report, rampart::Error>,
    hostile: &str,
    before: &Tree,
    after: &Tree,
) -> Vec<String> {
    let mut problems = Vec::new();
    match result {
        Ok(_) => problems.push(format!("a hostile policy was accepted: {hostile:?}")),
        Err(e) if e.exit_code() != 2 => problems.push(format!(
            "a hostile policy failed with exit code {}: {e}",
            e.exit_code()
        )),
        Err(_) => {}
    }
    if before != after {
        problems.push(format!(
            "a refused update changed the service: {}",
            tree_diff(before, after)
        ));
    }
    problems
}

/// (d) Updating again changes nothing.
fn rerun_is_noop(dir: &Path, to: &str, after: &Tree) -> Vec<String> {
    match update(&options(dir, to)) {
        Err(e) => vec![format!("the second update failed: {e}")],
        Ok(report) if !report.is_noop() => vec![format!(
            "the second update did something:\n{}",
            report.summary()
        )],
        Ok(_) if Tree::read(dir) != *after => {
            vec![format!(
                "the second update changed the tree: {}",
                tree_diff(after, &Tree::read(dir))
            )]
        }
        Ok(_) => Vec::new(),
    }
}

/// Starts `rampart update` on `dir`.
fn spawn_update(dir: &Path, to: &str) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_rampart"))
        .args(["update", "--allow-dirty", "--to", to, "--path"])
        .arg(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("rampart starts")
}

/// Runs `rampart update` on `dir` and kills it with SIGKILL: at a random
/// moment of `took` (how long an uninterrupted run takes, tens of
/// milliseconds), or, half the time, 0-3 ms after its undo journal appears,
/// since the writing is a few milliseconds at the end of the run that a
/// uniform draw seldom hits. Returns when it was killed, and whether it was
/// killed mid-update (the journal left behind).
fn kill_update(rng: &mut Rng, dir: &Path, to: &str, took: Duration) -> (String, bool) {
    let targeted = rng.percent(50);
    let delay = took.mul_f64(rng.below(1001) as f64 / 1000.0);
    let after_journal = Duration::from_micros(rng.below(3001) as u64);
    let journal = [".rampart-undo.new", ".rampart-undo"].map(|name| dir.join(name));
    let mut child = spawn_update(dir, to);
    let when = if targeted {
        let deadline = Instant::now() + took * 3;
        while !journal.iter().any(|j| j.exists()) && Instant::now() < deadline {
            if child.try_wait().unwrap().is_some() {
                break;
            }
        }
        std::thread::sleep(after_journal);
        format!("{after_journal:?} after the journal appeared")
    } else {
        std::thread::sleep(delay);
        format!("{delay:?} of {took:?}")
    };
    let _ = child.kill(); // it may have finished: then there is nothing to kill
    child.wait().unwrap();
    (when, journal[1].exists())
}

/// (d) The binary, killed once or twice (the second time maybe while it
/// rolls the first back), then run again to the end, leaves the tree an
/// uninterrupted update left.
fn interrupted(
    rng: &mut Rng,
    dir: &Path,
    to: &str,
    expected: &Tree,
    stats: &mut Stats,
) -> Vec<String> {
    let expected = expected.clone().without_git();
    let reference = tempfile::tempdir().unwrap();
    copy_tree(dir, reference.path());
    let started = Instant::now();
    let status = spawn_update(reference.path(), to).wait().unwrap();
    let took = started.elapsed();
    if ![0, 5].contains(&status.code().unwrap_or(-1))
        || Tree::read(reference.path()).without_git() != expected
    {
        return vec![format!(
            "the binary's update ({status}) differs from the library's"
        )];
    }
    let mut kills = Vec::new();
    for _ in 0..1 + rng.below(2) {
        let (when, mid_update) = kill_update(rng, dir, to, took);
        stats.kills += 1;
        stats.kills_mid_update += usize::from(mid_update);
        kills.push(format!(
            "{when}{}",
            if mid_update { " (mid-update)" } else { "" }
        ));
    }
    if let Err(e) = update(&options(dir, to)) {
        return vec![format!("the update after kills at {kills:?} failed: {e}")];
    }
    let got = Tree::read(dir).without_git();
    if got != expected {
        return vec![format!(
            "killed at {kills:?} and run again, the tree differs from an uninterrupted update's: {}",
            tree_diff(&expected, &got)
        )];
    }
    Vec::new()
}

fn env_number(name: &str, default: u64) -> u64 {
    match std::env::var(name) {
        Ok(value) => value
            .parse()
            .unwrap_or_else(|_| panic!("{name}={value}: not a number")),
        Err(_) => default,
    }
}

fn panic_text(panic: &(dyn std::any::Any + Send)) -> String {
    let text = panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()));
    format!("panicked: {}", text.unwrap_or_default())
}

#[test]
fn random_update_scenarios_keep_every_invariant() {
    let count = env_number("RAMPART_SCENARIOS", 200);
    let first = env_number("RAMPART_SEED", 1);
    let found_bugs = true;
    let source = tempfile::tempdir().unwrap();
    let repo = source.path().join("rampart");
    fs::create_dir_all(&repo).unwrap();
    git(&repo, &["init", "--quiet"]);
    // Thousands of commits and tags make git pack them, which keeps `git
    // describe` fast; in the foreground, so its locks never fail the next
    // commit.
    git(&repo, &["config", "gc.autoDetach", "false"]);
    git(&repo, &["config", "maintenance.autoDetach", "false"]);
    let started = Instant::now();
    let mut stats = Stats::default();
    let mut failed = Vec::new();
    for seed in first..first + count {
        let problems = catch_unwind(AssertUnwindSafe(|| {
            run_scenario(&repo, seed, found_bugs, &mut stats)
        }))
        .unwrap_or_else(|panic| vec![panic_text(&*panic)]);
        if !problems.is_empty() {
            eprintln!(
                "scenario {seed} FAILED (replay: RAMPART_SEED={seed} RAMPART_SCENARIOS=1):\n  {}",
                problems.join("\n  ")
            );
            failed.push(seed);
        }
    }
    eprintln!(
        "{} scenarios from seed {first} in {:.1?} (shapes of found bugs: {}): {} hostile, \
         {} with conflicts, {} killed ({} mid-update); outcomes {:?}",
        stats.scenarios,
        started.elapsed(),
        FOUND_BUGS.join(", "),
        stats.hostile,
        stats.with_conflicts,
        stats.kills,
        stats.kills_mid_update,
        stats.outcomes
    );
    assert!(
        failed.is_empty(),
        "{} scenarios failed, seeds {failed:?}",
        failed.len()
    );
}

// ---------------------------------------------------------------------------
// The bugs random scenarios found (see `FOUND_BUGS`), each in its smallest
// form, fixed since.

fn text(lines: &[&str], exec: bool) -> Spec {
    Spec {
        kind: Kind::Lf,
        lines: lines.iter().map(|l| l.to_string()).collect(),
        binary: Vec::new(),
        exec,
    }
}

fn binary(bytes: &[u8]) -> Spec {
    Spec {
        kind: Kind::Binary,
        lines: Vec::new(),
        binary: bytes.to_vec(),
        exec: false,
    }
}

fn rename(id: &str, from: &str, to: &str) -> String {
    format!("[[migrations]]\nid = \"{id}\"\nrename_file = {{ from = \"{from}\", to = \"{to}\" }}\n")
}

/// A source holding `versions` (template, policy) as tags v1, v2, ..., a
/// service generated at v1 and edited by `team`, updated to the last one.
/// Returns the service's folder (in the returned guard) and the update's report.
fn minimal(versions: &[(Template, String)], team: impl Fn(&Path)) -> (tempfile::TempDir, Report) {
    let work = tempfile::tempdir().unwrap();
    let repo = work.path().join("source");
    fs::create_dir_all(&repo).unwrap();
    git(&repo, &["init", "--quiet"]);
    for (i, (template, policy)) in versions.iter().enumerate() {
        commit_version(&repo, template, policy, &format!("v{}", i + 1));
    }
    let dir = work.path().join("svc");
    let opts = NewOptions {
        name: NAME.into(),
        database: None,
        path: Some(dir.clone()),
        git: false,
        template: Some(format!("{}@v1", repo.display())),
    };
    new_service_with_answers(&opts, &[]).unwrap();
    team(&dir);
    let report = update(&options(&dir, &format!("v{}", versions.len()))).unwrap();
    (work, report)
}

/// `rename-beside`: the team's copy of a binary file the template moves and
/// changes is deleted; only the template's version is left, beside nothing.
#[test]
fn found_bug_a_moved_binary_file_keeps_the_teams_copy() {
    let v1 = Template::from([("logo.bin".to_owned(), binary(b"\0v1\n"))]);
    let v2 = Template::from([("img/logo.bin".to_owned(), binary(b"\0v2\n"))]);
    let policy = rename("move-logo", "logo.bin", "img/logo.bin");
    let (work, report) = minimal(&[(v1, String::new()), (v2, policy)], |dir| {
        fs::write(dir.join("logo.bin"), b"\0team\n").unwrap();
    });
    let files = Tree::read(&work.path().join("svc")).files;
    assert!(
        files.values().any(|f| f.bytes == b"\0team\n"),
        "the team's logo is gone: {:?}\n{}",
        files.keys().collect::<Vec<_>>(),
        report.summary()
    );
}

/// `rename-mode`: a file the team made executable, moved by the template
/// without a change, arrives at its new path not executable.
#[test]
fn found_bug_a_moved_file_keeps_the_teams_executable_bit() {
    let v1 = Template::from([("run.sh".to_owned(), text(&["echo run"], false))]);
    let v2 = Template::from([("bin/run.sh".to_owned(), text(&["echo run"], false))]);
    let policy = rename("move-run", "run.sh", "bin/run.sh");
    let (work, report) = minimal(&[(v1, String::new()), (v2, policy)], |dir| {
        chmod(&dir.join("run.sh"), true);
    });
    let files = Tree::read(&work.path().join("svc")).files;
    assert!(files["bin/run.sh"].exec, "{}", report.summary());
}

/// `managed-mode`: the team's executable bit on a managed file is replaced
/// (as it should be), but the report says `updated`, not `replaced`.
#[test]
fn found_bug_a_managed_files_replaced_mode_is_reported() {
    let policy = "[ownership]\nmanaged = [\"ci/run\"]\n".to_owned();
    let v1 = Template::from([("ci/run".to_owned(), text(&["v1"], true))]);
    let v2 = Template::from([("ci/run".to_owned(), text(&["v2"], true))]);
    let (_work, report) = minimal(&[(v1, policy.clone()), (v2, policy)], |dir| {
        chmod(&dir.join("ci/run"), false);
    });
    let outcome = report
        .files
        .iter()
        .find(|f| f.path == "ci/run")
        .map(|f| f.outcome);
    assert_eq!(outcome, Some(Outcome::Replaced), "{}", report.summary());
}

/// `chained-renames`: a service two versions behind, when v2 moved a file
/// and v3 moved it again: the team's edited file stays at its old path, the
/// new path is not written, and the report says "you deleted it".
#[test]
fn found_bug_a_file_moved_twice_carries_the_team_edits_along() {
    let lines = ["# Runbook", "page the on-call"];
    let v1 = Template::from([("RUNBOOK.md".to_owned(), text(&lines, false))]);
    let v2 = Template::from([("docs/RUNBOOK.md".to_owned(), text(&lines, false))]);
    let v3 = Template::from([("docs/OPERATIONS.md".to_owned(), text(&lines, false))]);
    let first = rename("runbook-to-docs", "RUNBOOK.md", "docs/RUNBOOK.md");
    let second = first.clone()
        + &rename(
            "runbook-to-operations",
            "docs/RUNBOOK.md",
            "docs/OPERATIONS.md",
        );
    let (work, report) = minimal(&[(v1, String::new()), (v2, first), (v3, second)], |dir| {
        fs::write(
            dir.join("RUNBOOK.md"),
            "# Runbook\npage the on-call\nteam: call Ann\n",
        )
        .unwrap();
    });
    let files = Tree::read(&work.path().join("svc")).files;
    let moved = files
        .get("docs/OPERATIONS.md")
        .map(|f| String::from_utf8_lossy(&f.bytes).into_owned());
    assert!(
        moved.is_some_and(|m| m.contains("team: call Ann")) && !files.contains_key("RUNBOOK.md"),
        "{:?}\n{}",
        files.keys().collect::<Vec<_>>(),
        report.summary()
    );
}

/// The `freed-path` shapes: the template moves README.md to docs/ and puts
/// a new README.md in its place; `team` edits the service made at v1. The
/// service's files after the update, and its report.
fn readme_moved_to_docs(team: impl Fn(&Path)) -> (Files, Report) {
    let old = text(&["# Service", "how to run"], false);
    let v1 = Template::from([("README.md".to_owned(), old.clone())]);
    let v2 = Template::from([
        ("README.md".to_owned(), text(&["see docs/README.md"], false)),
        ("docs/README.md".to_owned(), old),
    ]);
    let policy = rename("readme-to-docs", "README.md", "docs/README.md");
    let (work, report) = minimal(&[(v1, String::new()), (v2, policy)], team);
    (Tree::read(&work.path().join("svc")).files, report)
}

/// `freed-path`: the new README.md is merged with the team's old one, then
/// deleted by the move (reported a conflict that is nowhere to see).
#[test]
fn found_bug_a_new_file_where_a_moved_one_was_arrives() {
    let (files, report) = readme_moved_to_docs(|_| {});
    let readme = files.get("README.md").map(|f| f.bytes.as_slice());
    assert_eq!(
        readme,
        Some(&b"see docs/README.md\n"[..]),
        "{}",
        report.summary()
    );
    assert_eq!(files["docs/README.md"].bytes, b"# Service\nhow to run\n");
}

/// `freed-path`, second form (seeds 2121, 4982, 5049, 5704, 5824, 8932,
/// 9339 of the long run): the team already has its own docs/README.md (so
/// the move stops) and deleted the old README.md: the new README.md was
/// taken for a version of the deleted one and never written.
#[test]
fn found_bug_a_new_file_where_a_stopped_move_started_arrives() {
    let (files, report) = readme_moved_to_docs(|dir| {
        fs::remove_file(dir.join("README.md")).unwrap();
        fs::create_dir_all(dir.join("docs")).unwrap();
        fs::write(dir.join("docs/README.md"), "# Ours\n").unwrap();
    });
    let readme = files.get("README.md").map(|f| f.bytes.as_slice());
    assert_eq!(
        readme,
        Some(&b"see docs/README.md\n"[..]),
        "{}",
        report.summary()
    );
    assert_eq!(files["docs/README.md"].bytes, b"# Ours\n");
}

/// A file the team could edit becomes managed as it moves into a managed
/// folder (the template's `src/platform/` move): the update merges the
/// team's edit in one last time instead of replacing it, and `rampart
/// check` then names the file, so the edit is neither lost nor unnoticed.
#[test]
fn a_file_that_becomes_managed_keeps_the_teams_edit_and_is_named_by_check() {
    let lines = ["fn headers() {", "    deny_frames();", "}"];
    let v1 = Template::from([("src/http.rs".to_owned(), text(&lines, false))]);
    let v2_lines = ["fn headers() {", "    deny_frames();", "}", "// v2"];
    let v2 = Template::from([("src/platform/http.rs".to_owned(), text(&v2_lines, false))]);
    let policy = "[ownership]\nmanaged = [\"src/platform/**\"]\n".to_owned()
        + &rename("platform", "src/http.rs", "src/platform/http.rs");
    let (work, report) = minimal(&[(v1, String::new()), (v2, policy)], |dir| {
        let team = "fn headers() {\n    team_header();\n    deny_frames();\n}\n";
        fs::write(dir.join("src/http.rs"), team).unwrap();
    });
    let svc = work.path().join("svc");
    let moved = fs::read_to_string(svc.join("src/platform/http.rs")).unwrap();
    assert_eq!(
        moved,
        "fn headers() {\n    team_header();\n    deny_frames();\n}\n// v2\n",
        "{}",
        report.summary()
    );
    assert!(!svc.join("src").join("http.rs").exists());
    let change = report
        .files
        .iter()
        .find(|f| f.path == "src/platform/http.rs");
    assert_eq!(change.map(|f| f.outcome), Some(Outcome::Merged));
    let check = rampart::check::check(&svc, None).unwrap();
    assert_eq!(
        check.drifted,
        ["src/platform/http.rs"],
        "{}",
        check.summary()
    );
}

/// The template puts a new managed file where the team has a file of its
/// own: the team's lines stay (merged, here in conflict with the
/// template's), instead of being overwritten, and the conflict is reported.
#[test]
fn a_new_managed_file_never_overwrites_a_file_of_the_teams_own() {
    let v1 = Template::from([("README.md".to_owned(), text(&["# Service"], false))]);
    let v2 = Template::from([
        ("README.md".to_owned(), text(&["# Service"], false)),
        ("ci/run".to_owned(), text(&["cargo test"], true)),
    ]);
    let policy = "[ownership]\nmanaged = [\"ci/**\"]\n".to_owned();
    let (work, report) = minimal(&[(v1, String::new()), (v2, policy)], |dir| {
        fs::create_dir_all(dir.join("ci")).unwrap();
        fs::write(dir.join("ci/run"), "make check-everything\n").unwrap();
    });
    let run = fs::read_to_string(work.path().join("svc/ci/run")).unwrap();
    assert!(
        run.contains("make check-everything") && run.contains("cargo test"),
        "{run}"
    );
    assert_eq!(report.conflicted(), ["ci/run"], "{}", report.summary());
}
