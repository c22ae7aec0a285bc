//! MNIST-format data: the IDX reader (gzip or raw), train/validation splits,
//! and a downloader that verifies md5 sums against the canonical values.

use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, ensure, Context, Result};
use md5::{Digest, Md5};
use tch::{Kind, Tensor};

/// Mean and standard deviation of MNIST's training pixels (scaled to [0, 1]):
/// the normalization every PyTorch MNIST example applies.
pub const MNIST_MEAN: f64 = 0.1307;
pub const MNIST_STD: f64 = 0.3081;
/// The same statistics for Fashion-MNIST.
pub const FASHION_MEAN: f64 = 0.2860;
pub const FASHION_STD: f64 = 0.3530;

/// When only the 10k test files exist, the first 8k train and the last 2k
/// validate (the split the issue prescribes).
pub const TEST_ONLY_TRAIN: usize = 8000;

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum DatasetKind {
    Mnist,
    FashionMnist,
}

impl DatasetKind {
    pub fn name(self) -> &'static str {
        match self {
            DatasetKind::Mnist => "mnist",
            DatasetKind::FashionMnist => "fashion-mnist",
        }
    }

    pub fn normalization(self) -> (f64, f64) {
        match self {
            DatasetKind::Mnist => (MNIST_MEAN, MNIST_STD),
            DatasetKind::FashionMnist => (FASHION_MEAN, FASHION_STD),
        }
    }

    /// The data directory when `--data-dir` is not given.
    pub fn default_dir(self) -> PathBuf {
        let (var, fallback) = match self {
            DatasetKind::Mnist => ("MNIST_DIR", "data/mnist"),
            // Debian's dataset-fashion-mnist installs here.
            DatasetKind::FashionMnist => ("FASHION_MNIST_DIR", "/usr/share/datasets/fashion-mnist"),
        };
        std::env::var_os(var)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(fallback))
    }

    /// The canonical files with their md5 sums (as torchvision lists them).
    pub fn remote_files(self) -> &'static [RemoteFile] {
        match self {
            DatasetKind::Mnist => &MNIST_FILES,
            DatasetKind::FashionMnist => &FASHION_FILES,
        }
    }

    pub fn default_mirrors(self) -> &'static [&'static str] {
        match self {
            DatasetKind::Mnist => &[
                "https://ossci-datasets.s3.amazonaws.com/mnist/",
                "http://yann.lecun.com/exdb/mnist/",
            ],
            DatasetKind::FashionMnist => {
                &["http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"]
            }
        }
    }
}

#[derive(Clone, Copy, Debug)]
pub struct RemoteFile {
    pub name: &'static str,
    pub md5: &'static str,
}

const MNIST_FILES: [RemoteFile; 4] = [
    RemoteFile {
        name: "train-images-idx3-ubyte.gz",
        md5: "f68b3c2dcbeaaa9fbdd348bbdeb94873",
    },
    RemoteFile {
        name: "train-labels-idx1-ubyte.gz",
        md5: "d53e105ee54ea40749a09fcbcd1e9432",
    },
    RemoteFile {
        name: "t10k-images-idx3-ubyte.gz",
        md5: "9fb629c4189551a2d022fa330f9573f3",
    },
    RemoteFile {
        name: "t10k-labels-idx1-ubyte.gz",
        md5: "ec29112dd5afa0611ce80d1b7f02629c",
    },
];

const FASHION_FILES: [RemoteFile; 4] = [
    RemoteFile {
        name: "train-images-idx3-ubyte.gz",
        md5: "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
    },
    RemoteFile {
        name: "train-labels-idx1-ubyte.gz",
        md5: "25c81989df183df01b3e8a0aad5dffbe",
    },
    RemoteFile {
        name: "t10k-images-idx3-ubyte.gz",
        md5: "bef4ecab320f06d8554ea6380940ec79",
    },
    RemoteFile {
        name: "t10k-labels-idx1-ubyte.gz",
        md5: "bb300cfdad3c16e7a12a480ee83cd310",
    },
];

/// An IDX array of unsigned bytes (the only element type MNIST uses).
#[derive(Debug)]
pub struct IdxArray {
    pub dims: Vec<usize>,
    pub data: Vec<u8>,
}

/// Parses IDX bytes: magic `0 0 type ndim`, big-endian u32 dims, then data.
pub fn parse_idx(bytes: &[u8]) -> Result<IdxArray> {
    ensure!(
        bytes.len() >= 4,
        "IDX file too short ({} bytes)",
        bytes.len()
    );
    ensure!(
        bytes[0] == 0 && bytes[1] == 0,
        "not an IDX file (bad magic)"
    );
    ensure!(
        bytes[2] == 0x08,
        "IDX element type 0x{:02x} is not u8",
        bytes[2]
    );
    let ndim = bytes[3] as usize;
    let header = 4 + 4 * ndim;
    ensure!(bytes.len() >= header, "IDX header truncated");
    let dims: Vec<usize> = (0..ndim)
        .map(|i| {
            let b = &bytes[4 + 4 * i..8 + 4 * i];
            u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize
        })
        .collect();
    let count: usize = dims.iter().product();
    ensure!(
        bytes.len() - header == count,
        "IDX data has {} bytes, dims {:?} need {}",
        bytes.len() - header,
        dims,
        count
    );
    Ok(IdxArray {
        dims,
        data: bytes[header..].to_vec(),
    })
}

/// Reads an IDX file, gunzipping it if it starts with the gzip magic.
pub fn read_idx(path: &Path) -> Result<IdxArray> {
    let mut raw = Vec::new();
    File::open(path)
        .with_context(|| format!("opening {}", path.display()))?
        .read_to_end(&mut raw)
        .with_context(|| format!("reading {}", path.display()))?;
    let bytes = if raw.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(&raw[..])
            .read_to_end(&mut out)
            .with_context(|| format!("gunzipping {}", path.display()))?;
        out
    } else {
        raw
    };
    parse_idx(&bytes).with_context(|| format!("parsing {}", path.display()))
}

/// `<stem>` or `<stem>.gz` in `dir`, whichever exists.
pub fn find_idx(dir: &Path, stem: &str) -> Option<PathBuf> {
    [dir.join(stem), dir.join(format!("{stem}.gz"))]
        .into_iter()
        .find(|p| p.is_file())
}

/// Images as normalized f32 `[n, 784]` and labels as i64 `[n]`.
pub struct Split {
    pub images: Tensor,
    pub labels: Tensor,
}

impl Split {
    pub fn len(&self) -> usize {
        self.labels.size()[0] as usize
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn narrow(&self, start: usize, len: usize) -> Split {
        Split {
            images: self.images.narrow(0, start as i64, len as i64),
            labels: self.labels.narrow(0, start as i64, len as i64),
        }
    }

    pub fn select(&self, indices: &[usize]) -> (Tensor, Tensor) {
        let idx: Vec<i64> = indices.iter().map(|&i| i as i64).collect();
        let idx = Tensor::from_slice(&idx);
        (
            self.images.index_select(0, &idx),
            self.labels.index_select(0, &idx),
        )
    }
}

/// Loads `<prefix>-images` and `<prefix>-labels`, normalizing pixels to
/// `(x / 255 - mean) / std`.
pub fn load_pair(dir: &Path, prefix: &str, mean: f64, std: f64) -> Result<Split> {
    let images_path = find_idx(dir, &format!("{prefix}-images-idx3-ubyte"))
        .with_context(|| format!("no {prefix}-images-idx3-ubyte[.gz] in {}", dir.display()))?;
    let labels_path = find_idx(dir, &format!("{prefix}-labels-idx1-ubyte"))
        .with_context(|| format!("no {prefix}-labels-idx1-ubyte[.gz] in {}", dir.display()))?;
    let images = read_idx(&images_path)?;
    let labels = read_idx(&labels_path)?;
    ensure!(
        images.dims.len() == 3 && labels.dims.len() == 1 && images.dims[0] == labels.dims[0],
        "image dims {:?} and label dims {:?} do not match",
        images.dims,
        labels.dims
    );
    let n = images.dims[0] as i64;
    let pixels = (images.dims[1] * images.dims[2]) as i64;
    let images = Tensor::from_slice(&images.data)
        .to_kind(Kind::Float)
        .view([n, pixels])
        / 255.0;
    let images = (images - mean) / std;
    let labels = Tensor::from_slice(&labels.data).to_kind(Kind::Int64);
    Ok(Split { images, labels })
}

pub struct Datasets {
    pub train: Split,
    pub validation: Split,
    /// How the splits were made, for the logs.
    pub description: String,
}

/// Train on `train-*` and validate on `t10k-*` when both exist; with only
/// `t10k-*`, split it 8000/2000.
pub fn load(dir: &Path, kind: DatasetKind) -> Result<Datasets> {
    let (mean, std) = kind.normalization();
    let has_train = find_idx(dir, "train-images-idx3-ubyte").is_some()
        && find_idx(dir, "train-labels-idx1-ubyte").is_some();
    let test = load_pair(dir, "t10k", mean, std).with_context(|| {
        format!(
            "no {} data in {} (set --data-dir/MNIST_DIR, or pass --download)",
            kind.name(),
            dir.display()
        )
    })?;
    if has_train {
        let train = load_pair(dir, "train", mean, std)?;
        let description = format!(
            "{} train {} / validation {} (t10k)",
            kind.name(),
            train.len(),
            test.len()
        );
        return Ok(Datasets {
            train,
            validation: test,
            description,
        });
    }
    ensure!(
        test.len() > TEST_ONLY_TRAIN,
        "only {} test samples, need more than {TEST_ONLY_TRAIN} to split",
        test.len()
    );
    let validation_len = test.len() - TEST_ONLY_TRAIN;
    Ok(Datasets {
        train: test.narrow(0, TEST_ONLY_TRAIN),
        validation: test.narrow(TEST_ONLY_TRAIN, validation_len),
        description: format!(
            "{}: only t10k present, train {TEST_ONLY_TRAIN} / validation {validation_len} of it",
            kind.name()
        ),
    })
}

pub fn md5_hex(bytes: &[u8]) -> String {
    Md5::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Downloads each missing file from the first mirror that serves it with the
/// right md5 sum.  Files already present with the right sum are kept; a file
/// is only moved into place once verified.
pub fn download(dir: &Path, files: &[RemoteFile], mirrors: &[String]) -> Result<Vec<PathBuf>> {
    ensure!(!mirrors.is_empty(), "no mirrors to download from");
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(120))
        .build()
        .context("building the HTTP client")?;
    let mut written = Vec::new();
    for file in files {
        let target = dir.join(file.name);
        if target.is_file() {
            let existing = std::fs::read(&target)?;
            if md5_hex(&existing) == file.md5 {
                continue;
            }
            eprintln!("{}: md5 mismatch, downloading again", target.display());
        }
        let mut errors = Vec::new();
        let mut done = false;
        for mirror in mirrors {
            let url = format!("{}/{}", mirror.trim_end_matches('/'), file.name);
            match fetch_verified(&client, &url, file.md5) {
                Ok(bytes) => {
                    let partial = dir.join(format!(".{}.partial", file.name));
                    let mut out = File::create(&partial)?;
                    out.write_all(&bytes)?;
                    out.sync_all()?;
                    std::fs::rename(&partial, &target)?;
                    written.push(target.clone());
                    done = true;
                    break;
                }
                Err(e) => errors.push(format!("{url}: {e:#}")),
            }
        }
        if !done {
            bail!(
                "could not download {}:\n  {}",
                file.name,
                errors.join("\n  ")
            );
        }
    }
    Ok(written)
}

fn fetch_verified(client: &reqwest::blocking::Client, url: &str, md5: &str) -> Result<Vec<u8>> {
    let response = client.get(url).send()?.error_for_status()?;
    let bytes = response.bytes()?.to_vec();
    let got = md5_hex(&bytes);
    ensure!(got == md5, "md5 {got} does not match the expected {md5}");
    Ok(bytes)
}

/// Reads the image bytes of a split unnormalized, e.g. for export checks.
pub fn read_raw(dir: &Path, prefix: &str) -> Result<(IdxArray, IdxArray)> {
    let images = find_idx(dir, &format!("{prefix}-images-idx3-ubyte"))
        .with_context(|| format!("no {prefix} images in {}", dir.display()))?;
    let labels = find_idx(dir, &format!("{prefix}-labels-idx1-ubyte"))
        .with_context(|| format!("no {prefix} labels in {}", dir.display()))?;
    Ok((read_idx(&images)?, read_idx(&labels)?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufRead, BufReader as StdBufReader};
    use std::net::TcpListener;
    use std::thread;

    fn mnist_dir() -> Option<PathBuf> {
        let dir = PathBuf::from(std::env::var_os("MNIST_DIR")?);
        find_idx(&dir, "t10k-images-idx3-ubyte").map(|_| dir)
    }

    fn idx_bytes(dims: &[u32], data: &[u8]) -> Vec<u8> {
        let mut out = vec![0, 0, 0x08, dims.len() as u8];
        for d in dims {
            out.extend_from_slice(&d.to_be_bytes());
        }
        out.extend_from_slice(data);
        out
    }

    #[test]
    fn parses_raw_and_gzipped_idx() {
        let bytes = idx_bytes(&[2, 2, 3], &[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
        let parsed = parse_idx(&bytes).unwrap();
        assert_eq!(parsed.dims, vec![2, 2, 3]);
        assert_eq!(parsed.data[11], 12);

        let dir = tempfile::tempdir().unwrap();
        let raw = dir.path().join("x-idx3-ubyte");
        std::fs::write(&raw, &bytes).unwrap();
        let gz = dir.path().join("y-idx3-ubyte.gz");
        let mut enc =
            flate2::write::GzEncoder::new(File::create(&gz).unwrap(), flate2::Compression::fast());
        enc.write_all(&bytes).unwrap();
        enc.finish().unwrap();
        assert_eq!(read_idx(&raw).unwrap().data, parsed.data);
        assert_eq!(read_idx(&gz).unwrap().dims, parsed.dims);
        assert_eq!(find_idx(dir.path(), "y-idx3-ubyte"), Some(gz));
        assert_eq!(find_idx(dir.path(), "x-idx3-ubyte"), Some(raw));
    }

    #[test]
    fn rejects_malformed_idx() {
        assert!(parse_idx(&[0, 0]).is_err());
        assert!(parse_idx(&[1, 0, 8, 1, 0, 0, 0, 1, 5]).is_err());
        assert!(
            parse_idx(&[0, 0, 0x0d, 1, 0, 0, 0, 1, 5]).is_err(),
            "float elements"
        );
        assert!(
            parse_idx(&idx_bytes(&[3], &[1, 2])).is_err(),
            "truncated data"
        );
        assert!(
            parse_idx(&idx_bytes(&[2], &[1, 2, 3])).is_err(),
            "trailing data"
        );
    }

    #[test]
    fn reads_the_real_test_set_and_splits_it() {
        let Some(dir) = mnist_dir() else {
            eprintln!("skipped: MNIST_DIR with t10k-*.gz not set");
            return;
        };
        let (images, labels) = read_raw(&dir, "t10k").unwrap();
        assert_eq!(images.dims, vec![10_000, 28, 28]);
        assert_eq!(labels.dims, vec![10_000]);
        assert!(labels.data.iter().all(|&l| l < 10));
        let sets = load(&dir, DatasetKind::Mnist).unwrap();
        assert_eq!((sets.train.len(), sets.validation.len()), (8000, 2000));
        assert_eq!(sets.train.images.size(), vec![8000, 784]);
        // Normalized: mean near 0 for MNIST's own statistics.
        let mean = sets.train.images.mean(Kind::Float).double_value(&[]);
        assert!(mean.abs() < 0.1, "mean {mean}");
    }

    /// A one-file-per-request HTTP/1.0 server over `root`; returns its base URL.
    fn serve_dir(root: PathBuf) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut reader = StdBufReader::new(stream.try_clone().unwrap());
                let mut request_line = String::new();
                if reader.read_line(&mut request_line).is_err() {
                    continue;
                }
                // Drain the headers.
                let mut line = String::new();
                while reader.read_line(&mut line).map(|n| n > 2).unwrap_or(false) {
                    line.clear();
                }
                let path = request_line
                    .split_whitespace()
                    .nth(1)
                    .unwrap_or("/")
                    .to_owned();
                let file = root.join(path.trim_start_matches('/'));
                let response = match std::fs::read(&file) {
                    Ok(body) => {
                        let mut r = format!(
                            "HTTP/1.0 200 OK\r\nContent-Length: {}\r\nContent-Type: application/octet-stream\r\n\r\n",
                            body.len()
                        )
                        .into_bytes();
                        r.extend_from_slice(&body);
                        r
                    }
                    Err(_) => b"HTTP/1.0 404 Not Found\r\nContent-Length: 0\r\n\r\n".to_vec(),
                };
                let _ = stream.write_all(&response);
            }
        });
        format!("http://{addr}/")
    }

    #[test]
    fn downloads_and_verifies_from_a_mirror() {
        let Some(source) = mnist_dir() else {
            eprintln!("skipped: MNIST_DIR with t10k-*.gz not set");
            return;
        };
        let good = serve_dir(source);
        let empty_dir = tempfile::tempdir().unwrap();
        let dead = serve_dir(empty_dir.path().to_path_buf());
        let target = tempfile::tempdir().unwrap();
        let t10k: Vec<RemoteFile> = MNIST_FILES
            .iter()
            .copied()
            .filter(|f| f.name.starts_with("t10k"))
            .collect();

        // The first mirror 404s; the second serves the files.
        let written = download(target.path(), &t10k, &[dead, good.clone()]).unwrap();
        assert_eq!(written.len(), 2);
        let sets = load(target.path(), DatasetKind::Mnist).unwrap();
        assert_eq!(sets.validation.len(), 2000);

        // Verified files are not fetched again.
        assert!(download(target.path(), &t10k, std::slice::from_ref(&good))
            .unwrap()
            .is_empty());

        // A wrong checksum is an error and leaves nothing behind.
        let wrong = [RemoteFile {
            name: "t10k-labels-idx1-ubyte.gz",
            md5: "00000000000000000000000000000000",
        }];
        let other = tempfile::tempdir().unwrap();
        let err = download(other.path(), &wrong, &[good]).unwrap_err();
        assert!(format!("{err:#}").contains("md5"), "{err:#}");
        assert_eq!(std::fs::read_dir(other.path()).unwrap().count(), 0);
    }
}
