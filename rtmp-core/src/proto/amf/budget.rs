//! What one decode may still spend: nesting depth and (approximate) memory.

use super::{AmfError, AmfLimits};

/// The nesting depth of a container's elements, or [`AmfError::TooDeep`] when a container at
/// `depth` would nest deeper than [`AmfLimits::max_depth`]. Top-level values are at depth 0.
pub(super) fn enter(depth: usize, limits: &AmfLimits) -> Result<usize, AmfError> {
    let inner = depth.saturating_add(1);
    if inner > limits.max_depth {
        return Err(AmfError::TooDeep(limits.max_depth));
    }
    Ok(inner)
}

/// Approximate bytes allocated so far, split in two because AMF3 reference resolution has to
/// know how much a table entry cost to produce (`output`) without also counting the copies
/// that the tables themselves keep (`tables`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct MemoryBudget {
    limit: usize,
    output: usize,
    tables: usize,
}

impl MemoryBudget {
    /// A budget of [`AmfLimits::max_decoded_bytes`] with nothing spent.
    pub(super) fn new(limits: &AmfLimits) -> Self {
        Self { limit: limits.max_decoded_bytes, output: 0, tables: 0 }
    }

    /// Bytes spent on the values being returned.
    pub(super) fn output(&self) -> usize {
        self.output
    }

    /// Records `bytes` more of returned values.
    pub(super) fn charge_output(&mut self, bytes: usize) -> Result<(), AmfError> {
        self.output = self.output.saturating_add(bytes);
        self.check()
    }

    /// Records `bytes` more kept in reference tables.
    pub(super) fn charge_tables(&mut self, bytes: usize) -> Result<(), AmfError> {
        self.tables = self.tables.saturating_add(bytes);
        self.check()
    }

    /// Forgets the table charges, for when the tables are dropped.
    pub(super) fn release_tables(&mut self) {
        self.tables = 0;
    }

    fn check(&self) -> Result<(), AmfError> {
        if self.output.saturating_add(self.tables) > self.limit {
            return Err(AmfError::TooLarge(self.limit));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enter_allows_exactly_max_depth_levels() {
        let limits = AmfLimits { max_depth: 2, ..AmfLimits::default() };
        assert_eq!(enter(0, &limits), Ok(1));
        assert_eq!(enter(1, &limits), Ok(2));
        assert_eq!(enter(2, &limits), Err(AmfError::TooDeep(2)));
    }

    #[test]
    fn budget_counts_output_and_tables_together() {
        let limits = AmfLimits { max_decoded_bytes: 10, ..AmfLimits::default() };
        let mut budget = MemoryBudget::new(&limits);
        assert_eq!(budget.charge_output(6), Ok(()));
        assert_eq!(budget.charge_tables(4), Ok(()));
        assert_eq!(budget.charge_output(1), Err(AmfError::TooLarge(10)));
        budget.release_tables();
        assert_eq!(budget.charge_output(usize::MAX), Err(AmfError::TooLarge(10)));
    }
}
