//! STOMP transactions of one session: `BEGIN` opens one, `SEND`s with its name are held in it,
//! `COMMIT` hands them over to be stored together, `ABORT` drops them. Bounded in how many may
//! be open and how many sends one may hold.

use std::collections::HashMap;

use super::failure::Failure;

/// The open transactions of a session and the sends (`T`) each holds.
#[derive(Debug)]
pub struct Transactions<T> {
    open: HashMap<String, Vec<T>>,
    max_open: usize,
    max_sends: usize,
}

impl<T> Transactions<T> {
    /// No transactions yet; at most `max_open` at once, each holding at most `max_sends`.
    pub fn new(max_open: usize, max_sends: usize) -> Self {
        Transactions {
            open: HashMap::new(),
            max_open,
            max_sends,
        }
    }

    /// `BEGIN name`.
    pub fn begin(&mut self, name: &str, receipt: Option<String>) -> Result<(), Failure> {
        if self.open.contains_key(name) {
            return Err(Failure::new(
                "duplicate_transaction",
                "duplicate transaction",
                format!("transaction '{name}' is already open"),
                receipt,
            ));
        }
        if self.open.len() >= self.max_open {
            return Err(Failure::new(
                "too_many_transactions",
                "too many transactions",
                format!("at most {} transactions may be open at once", self.max_open),
                receipt,
            ));
        }
        self.open.insert(name.to_owned(), Vec::new());
        Ok(())
    }

    /// A `SEND` inside transaction `name`.
    pub fn hold(&mut self, name: &str, send: T, receipt: Option<String>) -> Result<(), Failure> {
        let limit = self.max_sends;
        match self.open.get_mut(name) {
            None => Err(unknown(name, receipt)),
            Some(sends) if sends.len() >= limit => Err(Failure::new(
                "transaction_too_large",
                "transaction too large",
                format!("a transaction holds at most {limit} SEND frames"),
                receipt,
            )),
            Some(sends) => {
                sends.push(send);
                Ok(())
            }
        }
    }

    /// `COMMIT name`: its sends, in the order they came.
    pub fn commit(&mut self, name: &str, receipt: Option<String>) -> Result<Vec<T>, Failure> {
        self.open.remove(name).ok_or_else(|| unknown(name, receipt))
    }

    /// `ABORT name`: its sends are dropped.
    pub fn abort(&mut self, name: &str, receipt: Option<String>) -> Result<(), Failure> {
        self.open
            .remove(name)
            .map(drop)
            .ok_or_else(|| unknown(name, receipt))
    }
}

fn unknown(name: &str, receipt: Option<String>) -> Failure {
    Failure::new(
        "unknown_transaction",
        "unknown transaction",
        format!("transaction '{name}' was not begun"),
        receipt,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_transaction_holds_its_sends_until_commit() {
        let mut t = Transactions::new(2, 3);
        t.begin("a", None).unwrap();
        t.hold("a", 1, None).unwrap();
        t.hold("a", 2, None).unwrap();
        assert_eq!(t.commit("a", None).unwrap(), [1, 2]);
        assert_eq!(t.commit("a", None).unwrap_err().code, "unknown_transaction");
        t.begin("b", None).unwrap();
        t.hold("b", 9, None).unwrap();
        t.abort("b", None).unwrap();
        assert_eq!(t.abort("b", None).unwrap_err().code, "unknown_transaction");
    }

    #[test]
    fn limits_and_unknown_names_are_refused_with_the_receipt() {
        let mut t = Transactions::new(1, 1);
        t.begin("a", None).unwrap();
        assert_eq!(
            t.begin("a", None).unwrap_err().code,
            "duplicate_transaction"
        );
        assert_eq!(
            t.begin("b", None).unwrap_err().code,
            "too_many_transactions"
        );
        t.hold("a", 1, None).unwrap();
        let full = t.hold("a", 2, Some("r".into())).unwrap_err();
        assert_eq!(
            (full.code, full.receipt.as_deref()),
            ("transaction_too_large", Some("r"))
        );
        assert_eq!(
            t.hold("zz", 1, None).unwrap_err().code,
            "unknown_transaction"
        );
    }
}
