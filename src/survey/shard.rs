//! `--shard K/N`: which contexts of the sorted list one array task reads, and `auto` from
//! SLURM's array variables.

use std::fmt;

/// Task K (1-based) of N: takes contexts K, K+N, K+2N, ... (1-based) of the sorted list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub k: u32,
    pub n: u32,
}

/// Why a shard could not be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ShardError {
    #[error("--shard {0:?}: expected K/N with 1 <= K <= N (e.g. 3/8), or auto")]
    Syntax(String),
    #[error(
        "--shard auto needs SLURM_ARRAY_TASK_ID, SLURM_ARRAY_TASK_MIN and \
         SLURM_ARRAY_TASK_COUNT (run it as a task of sbatch --array): {0}"
    )]
    NoSlurm(String),
}

impl Shard {
    /// The whole list.
    pub const ALL: Shard = Shard { k: 1, n: 1 };

    /// Parses `K/N`.
    pub fn parse(s: &str) -> Result<Shard, ShardError> {
        let bad = || ShardError::Syntax(s.to_string());
        let (k, n) = s.trim().split_once('/').ok_or_else(bad)?;
        let k: u32 = k.trim().parse().map_err(|_| bad())?;
        let n: u32 = n.trim().parse().map_err(|_| bad())?;
        if k == 0 || n == 0 || k > n {
            return Err(bad());
        }
        Ok(Shard { k, n })
    }

    /// From SLURM's array variables, read through `var`: task index
    /// `(ID - MIN) / STEP + 1` of `COUNT` (STEP 1 when unset).
    pub fn from_slurm(var: impl Fn(&str) -> Option<String>) -> Result<Shard, ShardError> {
        let get = |name: &str| -> Result<u64, ShardError> {
            let v = var(name).ok_or_else(|| ShardError::NoSlurm(format!("{name} is not set")))?;
            v.trim()
                .parse()
                .map_err(|_| ShardError::NoSlurm(format!("{name}={v:?} is not a number")))
        };
        let id = get("SLURM_ARRAY_TASK_ID")?;
        let min = get("SLURM_ARRAY_TASK_MIN")?;
        let count = get("SLURM_ARRAY_TASK_COUNT")?;
        let step = match var("SLURM_ARRAY_TASK_STEP") {
            Some(_) => get("SLURM_ARRAY_TASK_STEP")?.max(1),
            None => 1,
        };
        let off = id.checked_sub(min).ok_or_else(|| {
            ShardError::NoSlurm(format!(
                "SLURM_ARRAY_TASK_ID={id} is below SLURM_ARRAY_TASK_MIN={min}"
            ))
        })?;
        if off % step != 0 {
            return Err(ShardError::NoSlurm(format!(
                "SLURM_ARRAY_TASK_ID={id} is not MIN + a multiple of STEP={step}; \
                 give --shard K/N instead"
            )));
        }
        let k = off / step + 1;
        let (Ok(k), Ok(n)) = (u32::try_from(k), u32::try_from(count)) else {
            return Err(ShardError::NoSlurm("array too large".into()));
        };
        if n == 0 || k > n {
            return Err(ShardError::NoSlurm(format!(
                "task {k} of SLURM_ARRAY_TASK_COUNT={n}: the array is not a plain range; \
                 give --shard K/N instead"
            )));
        }
        Ok(Shard { k, n })
    }

    /// Parses `--shard`: `K/N`, or `auto` from the process environment.
    pub fn from_arg(s: &str) -> Result<Shard, ShardError> {
        if s.trim() == "auto" {
            Shard::from_slurm(|name| std::env::var(name).ok())
        } else {
            Shard::parse(s)
        }
    }

    /// True when the `i`-th (0-based) item of the sorted list is this shard's.
    pub fn takes(&self, i: usize) -> bool {
        i % self.n as usize == (self.k - 1) as usize
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.k, self.n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_refuses() {
        assert_eq!(Shard::parse("3/8"), Ok(Shard { k: 3, n: 8 }));
        assert_eq!(Shard::parse("1/1"), Ok(Shard::ALL));
        for bad in ["0/3", "4/3", "3", "a/b", "1/0", "", "-1/2"] {
            assert!(Shard::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn shards_cover_the_list_once() {
        for n in 1..=9u32 {
            let mut seen = vec![0; 50];
            for k in 1..=n {
                let s = Shard { k, n };
                for (i, c) in seen.iter_mut().enumerate() {
                    if s.takes(i) {
                        *c += 1;
                    }
                }
            }
            assert!(seen.iter().all(|&c| c == 1), "n={n}: {seen:?}");
        }
    }

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let v: Vec<(String, String)> = pairs
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
        move |name| v.iter().find(|(a, _)| a == name).map(|(_, b)| b.clone())
    }

    #[test]
    fn slurm_array_variables() {
        let s = Shard::from_slurm(env(&[
            ("SLURM_ARRAY_TASK_ID", "5"),
            ("SLURM_ARRAY_TASK_MIN", "0"),
            ("SLURM_ARRAY_TASK_COUNT", "8"),
        ]));
        assert_eq!(s, Ok(Shard { k: 6, n: 8 }));
        // --array=1-4: ids 1..4.
        let s = Shard::from_slurm(env(&[
            ("SLURM_ARRAY_TASK_ID", "4"),
            ("SLURM_ARRAY_TASK_MIN", "1"),
            ("SLURM_ARRAY_TASK_COUNT", "4"),
        ]));
        assert_eq!(s, Ok(Shard { k: 4, n: 4 }));
        // --array=0-6:2: ids 0,2,4,6.
        let s = Shard::from_slurm(env(&[
            ("SLURM_ARRAY_TASK_ID", "6"),
            ("SLURM_ARRAY_TASK_MIN", "0"),
            ("SLURM_ARRAY_TASK_COUNT", "4"),
            ("SLURM_ARRAY_TASK_STEP", "2"),
        ]));
        assert_eq!(s, Ok(Shard { k: 4, n: 4 }));
        // --array=1,5,9 (a list): COUNT 3, MIN 1, id 9 gives 9 > 3: refused, not wrong.
        assert!(
            Shard::from_slurm(env(&[
                ("SLURM_ARRAY_TASK_ID", "9"),
                ("SLURM_ARRAY_TASK_MIN", "1"),
                ("SLURM_ARRAY_TASK_COUNT", "3"),
            ]))
            .is_err()
        );
        assert!(Shard::from_slurm(env(&[("SLURM_ARRAY_TASK_ID", "1")])).is_err());
    }
}
