//! Sorting without std's sorts: they are fast on long slices but each element type gets its
//! own copy of them, 5 to 8 KiB of code (8 call sites came to 52 KiB of the static binary).
//! These are a few hundred bytes per type: a heapsort for plain values (pids, CPUs, groups,
//! addresses) and a stable insertion sort for nsbox's short lists of records (mounts,
//! containers, seccomp rules: hundreds at most).

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

/// Sorts `v` in ascending order, in O(n log n) (a heapsort: pid lists may be long); equal
/// elements of a total order are alike, so stability does not matter here.
pub fn sort<T: Ord>(v: &mut [T]) {
    let n = v.len();
    for root in (0..n / 2).rev() {
        sift_down(v, root, n);
    }
    for end in (1..n).rev() {
        v.swap(0, end);
        sift_down(v, 0, end);
    }
}

/// Moves `v[root]` down the heap `v[..end]` until both its children are smaller.
fn sift_down<T: Ord>(v: &mut [T], mut root: usize, end: usize) {
    loop {
        let mut child = 2 * root + 1;
        if child >= end {
            return;
        }
        if child + 1 < end && v[child] < v[child + 1] {
            child += 1;
        }
        if v[root] >= v[child] {
            return;
        }
        v.swap(root, child);
        root = child;
    }
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
        // Long, reversed and with repeats: the heapsort's cases.
        let mut long: Vec<u32> = (0..5000).rev().chain(0..5000).collect();
        sort(&mut long);
        assert!(long.windows(2).all(|w| w[0] <= w[1]));
        assert_eq!((long[0], long[1], long[9999]), (0, 0, 4999));
    }
}
