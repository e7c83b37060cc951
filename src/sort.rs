//! Sorting nsbox's short lists (mounts, groups, CPUs, leases, containers, seccomp rules) by
//! insertion: std's sorts are fast on long slices but each element type gets its own copy of
//! them, 5 to 8 KiB of code (7 call sites came to 52 KiB of the static binary); this is a few
//! hundred bytes per type, and the lists here are short (hundreds at most).

/// Sorts `v` so that `less(a, b)` never holds for a later `a` and an earlier `b`; equal
/// elements keep their order (stable).
pub fn sort_by<T>(v: &mut [T], mut less: impl FnMut(&T, &T) -> bool) {
    for i in 1..v.len() {
        let mut j = i;
        while j > 0 && less(&v[j], &v[j - 1]) {
            v.swap(j, j - 1);
            j -= 1;
        }
    }
}

/// Sorts `v` by `key`, stable.
pub fn sort_by_key<T, K: Ord>(v: &mut [T], mut key: impl FnMut(&T) -> K) {
    sort_by(v, |a, b| key(a) < key(b));
}

/// Sorts `v` in ascending order.
pub fn sort<T: Ord>(v: &mut [T]) {
    sort_by(v, |a, b| a < b);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorts_and_keeps_equal_elements_in_order() {
        let mut v = [5, 1, 4, 1, 3, 9, 0];
        sort(&mut v);
        assert_eq!(v, [0, 1, 1, 3, 4, 5, 9]);
        let mut pairs = [(2, 'a'), (1, 'b'), (2, 'c'), (1, 'd'), (0, 'e')];
        sort_by_key(&mut pairs, |p| p.0);
        assert_eq!(pairs, [(0, 'e'), (1, 'b'), (1, 'd'), (2, 'a'), (2, 'c')]);
        let mut empty: [u8; 0] = [];
        sort(&mut empty);
    }
}
