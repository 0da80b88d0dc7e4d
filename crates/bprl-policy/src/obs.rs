//! Observation specs with named groups, and selections of groups (information asymmetry).

use crate::error::{PolicyError, Result, check_shape};
use ndarray::{Array2, ArrayView2, Axis, concatenate, s};
use serde::{Deserialize, Serialize};
use std::ops::Range;

/// The layout of a flat observation row: named groups of given widths, concatenated in order.
///
/// Observations are `[B, width]` arrays whose columns are the groups in this order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObservationSpec {
    groups: Vec<(String, usize)>,
}

impl ObservationSpec {
    /// A spec from `(name, width)` pairs.
    ///
    /// # Errors
    /// [`PolicyError::DuplicateGroup`].
    pub fn new(groups: Vec<(String, usize)>) -> Result<Self> {
        for (i, (name, _)) in groups.iter().enumerate() {
            if groups[..i].iter().any(|(n, _)| n == name) {
                return Err(PolicyError::DuplicateGroup { name: name.clone() });
            }
        }
        Ok(Self { groups })
    }

    /// The groups in order.
    pub fn groups(&self) -> &[(String, usize)] {
        &self.groups
    }

    /// Total width.
    pub fn width(&self) -> usize {
        self.groups.iter().map(|(_, w)| w).sum()
    }

    /// The columns of a group.
    ///
    /// # Errors
    /// [`PolicyError::MissingGroup`].
    pub fn range(&self, name: &str) -> Result<Range<usize>> {
        let mut start = 0;
        for (n, w) in &self.groups {
            if n == name {
                return Ok(start..start + w);
            }
            start += w;
        }
        Err(PolicyError::MissingGroup {
            name: name.to_string(),
            available: self.groups.iter().map(|(n, _)| n.clone()).collect(),
        })
    }

    /// A selection of groups (in the order given).
    ///
    /// # Errors
    /// [`PolicyError::MissingGroup`] for a name the spec lacks.
    pub fn select(&self, names: &[&str]) -> Result<Selection> {
        let ranges = names
            .iter()
            .map(|n| self.range(n))
            .collect::<Result<Vec<_>>>()?;
        Ok(Selection {
            names: names.iter().map(|n| n.to_string()).collect(),
            ranges,
            input_width: self.width(),
        })
    }

    /// Every group, in order (a network with full information).
    pub fn select_all(&self) -> Selection {
        let names: Vec<&str> = self.groups.iter().map(|(n, _)| n.as_str()).collect();
        self.select(&names)
            .unwrap_or_else(|_| unreachable!("every group of the spec exists"))
    }
}

/// Which groups of an observation a network sees: the columns it gathers, in order.
///
/// A prior built on a selection without the task groups cannot depend on them: that is the
/// information asymmetry of Galashov et al. 2019.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Selection {
    names: Vec<String>,
    ranges: Vec<Range<usize>>,
    input_width: usize,
}

impl Selection {
    /// The selected group names.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// Whether a group is selected.
    pub fn contains(&self, name: &str) -> bool {
        self.names.iter().any(|n| n == name)
    }

    /// Width of the gathered columns.
    pub fn width(&self) -> usize {
        self.ranges.iter().map(|r| r.len()).sum()
    }

    /// Width of the full observation the selection reads from.
    pub fn input_width(&self) -> usize {
        self.input_width
    }

    /// Gathers the selected columns of a `[B, input_width]` observation.
    ///
    /// # Errors
    /// [`PolicyError::Shape`] for another width.
    pub fn gather<F: Clone>(&self, obs: ArrayView2<'_, F>) -> Result<Array2<F>> {
        check_shape("obs", &[obs.nrows(), self.input_width], obs.shape())?;
        let parts: Vec<_> = self
            .ranges
            .iter()
            .map(|r| obs.slice(s![.., r.clone()]))
            .collect();
        if parts.is_empty() {
            return Ok(Array2::from_shape_fn((obs.nrows(), 0), |_| unreachable!()));
        }
        concatenate(Axis(1), &parts).map_err(|_| PolicyError::Shape {
            what: "obs",
            expected: vec![obs.nrows(), self.input_width],
            actual: obs.shape().to_vec(),
        })
    }
}
