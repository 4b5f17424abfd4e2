//! What a server keeps in memory of the database: each entry with the stamp (a revision read in the
//! database) it was read at, served only while the database gives the same stamp. Every write raises
//! the revision it changes in its own transaction (`record!`, the territory imports), so no server
//! serves what another has since changed, and none keeps a state of its own.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex, PoisonError};

/// Entries by key, each with its stamp; at most `capacity` of them, the least recently read leaving
/// first.
#[derive(Debug)]
pub struct StampedCache<K, S, V> {
    capacity: usize,
    entries: Mutex<Entries<K, S, V>>,
    /// One reader at a time reads what is missing (see [`SingleFlight`]).
    pub flights: SingleFlight<K>,
}

#[derive(Debug)]
struct Entries<K, S, V> {
    tick: u64,
    by_key: HashMap<K, (S, u64, V)>,
}

impl<K: Hash + Eq + Clone, S: PartialEq, V: Clone> StampedCache<K, S, V> {
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity,
            entries: Mutex::new(Entries { tick: 0, by_key: HashMap::new() }),
            flights: SingleFlight::default(),
        }
    }

    /// The value of `key` if it was read at `stamp`.
    pub fn get(&self, key: &K, stamp: &S) -> Option<V> {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        entries.tick += 1;
        let tick = entries.tick;
        let (at, used, value) = entries.by_key.get_mut(key)?;
        if at != stamp {
            return None;
        }
        *used = tick;
        Some(value.clone())
    }

    /// The value of `key` at `stamp`, or else the one `load` reads, kept at `stamp`. One loader at a
    /// time per key: the others wait for its turn to end, then find what it kept. `stamp` is read
    /// before `load` reads, so that what is kept is at least as new as the stamp says.
    pub async fn get_or_load<E, Fut>(&self, key: K, stamp: S, load: impl FnOnce() -> Fut) -> Result<V, E>
    where
        K: Hash + Eq,
        Fut: std::future::Future<Output = Result<V, E>>,
    {
        if let Some(value) = self.get(&key, &stamp) {
            return Ok(value);
        }
        let _turn = self.flights.turn(key.clone()).await;
        if let Some(value) = self.get(&key, &stamp) {
            return Ok(value);
        }
        let value = load().await?;
        self.put(key, stamp, value.clone());
        Ok(value)
    }

    pub fn put(&self, key: K, stamp: S, value: V) {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        entries.tick += 1;
        let tick = entries.tick;
        if entries.by_key.len() >= self.capacity && !entries.by_key.contains_key(&key) {
            let oldest = entries.by_key.iter().min_by_key(|(_, (_, used, _))| *used).map(|(k, _)| k.clone());
            if let Some(oldest) = oldest {
                entries.by_key.remove(&oldest);
            }
        }
        entries.by_key.insert(key, (stamp, tick, value));
    }
}

/// One computation at a time per key: the others wait for it, then find its result in their cache
/// instead of all reading the same thing at once when it is missing.
#[derive(Debug)]
pub struct SingleFlight<K = i64> {
    keys: Mutex<HashMap<K, Arc<tokio::sync::Mutex<()>>>>,
}

impl<K> Default for SingleFlight<K> {
    fn default() -> Self {
        Self { keys: Mutex::new(HashMap::new()) }
    }
}

impl<K: Hash + Eq> SingleFlight<K> {
    /// Waits for the turn of `key`; the turn ends when the guard is dropped.
    pub async fn turn(&self, key: K) -> tokio::sync::OwnedMutexGuard<()> {
        let lock = {
            let mut keys = self.keys.lock().unwrap_or_else(PoisonError::into_inner);
            keys.entry(key).or_default().clone()
        };
        lock.lock_owned().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_is_served_only_at_its_stamp_and_the_least_recently_read_leaves_first() {
        let cache: StampedCache<i64, i64, &str> = StampedCache::new(2);
        cache.put(1, 10, "un");
        cache.put(2, 20, "deux");
        assert_eq!(cache.get(&1, &10), Some("un"));
        assert_eq!(cache.get(&1, &11), None, "a later revision is never served from memory");
        cache.put(3, 30, "trois");
        assert_eq!(cache.get(&2, &20), None, "the least recently read one left");
        assert_eq!(cache.get(&1, &10), Some("un"));
        assert_eq!(cache.get(&3, &30), Some("trois"));
        cache.put(1, 11, "un bis");
        assert_eq!(cache.get(&1, &11), Some("un bis"));
    }

    #[tokio::test]
    async fn eight_readers_of_a_missing_entry_load_it_once_and_a_new_stamp_loads_again() {
        let cache: Arc<StampedCache<i64, i64, i64>> = Arc::new(StampedCache::new(8));
        let loads = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let read = |stamp: i64| {
            let (cache, loads) = (cache.clone(), loads.clone());
            tokio::spawn(async move {
                cache
                    .get_or_load(1, stamp, || async {
                        loads.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                        Ok::<_, ()>(stamp * 100)
                    })
                    .await
            })
        };
        let readers: Vec<_> = (0..8).map(|_| read(10)).collect();
        for r in readers {
            assert_eq!(r.await.unwrap(), Ok(1_000));
        }
        assert_eq!(loads.load(std::sync::atomic::Ordering::SeqCst), 1, "one load for eight readers");
        assert_eq!(read(11).await.unwrap(), Ok(1_100));
        assert_eq!(loads.load(std::sync::atomic::Ordering::SeqCst), 2, "a new stamp is read again");
        // A failed load keeps nothing.
        assert_eq!(cache.get_or_load(2, 1, || async { Err::<i64, _>("illisible") }).await, Err("illisible"));
        assert_eq!(cache.get(&2, &1), None);
    }
}
