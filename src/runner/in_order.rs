//! Handing results on in their planned order, whatever order they finish in: the output of a
//! parallel run is the output of the same run with `-j 1`, line for line.

use std::collections::BTreeMap;

#[derive(Debug)]
pub struct InOrder<T> {
    next: usize,
    waiting: BTreeMap<usize, T>,
}

impl<T> Default for InOrder<T> {
    fn default() -> Self {
        InOrder {
            next: 0,
            waiting: BTreeMap::new(),
        }
    }
}

impl<T> InOrder<T> {
    pub fn new() -> InOrder<T> {
        InOrder::default()
    }

    /// Takes the result of run `index`; returns those now due, in order.
    pub fn push(&mut self, index: usize, item: T) -> Vec<T> {
        self.waiting.insert(index, item);
        let mut due = Vec::new();
        while let Some(item) = self.waiting.remove(&self.next) {
            due.push(item);
            self.next += 1;
        }
        due
    }

    /// Everything still held, in order, gaps (runs that never finished) skipped.
    pub fn drain(&mut self) -> Vec<T> {
        std::mem::take(&mut self.waiting).into_values().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_come_out_in_order() {
        let mut in_order = InOrder::new();
        assert_eq!(in_order.push(1, "b"), Vec::<&str>::new());
        assert_eq!(in_order.push(2, "c"), Vec::<&str>::new());
        assert_eq!(in_order.push(0, "a"), ["a", "b", "c"]);
        assert_eq!(in_order.push(3, "d"), ["d"]);
        assert_eq!(in_order.push(5, "f"), Vec::<&str>::new());
        assert_eq!(in_order.drain(), ["f"]);
    }
}
