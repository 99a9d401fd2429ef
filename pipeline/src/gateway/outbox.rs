//! The gateway's outbox: every message waits here, on disk, until the broker has acknowledged it
//! (QoS 1), so a broker that is down or a gateway that restarts loses nothing that was queued.
//!
//! It is an SQLite file of its own (`outbox.db` in the gateway's state folder; WAL, synchronous
//! `NORMAL`: a crash of the process loses nothing, a power cut may lose the last moments).
//! Messages leave in the order they were queued. The outbox holds at most `limit` messages; when
//! it is full, the oldest **inference** message is dropped to make room (events and statuses are
//! kept while any inference message is left), and the drop is counted per device so the board's
//! next status says how many of its results never left.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use sqlx::Row;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use tokio::sync::{Mutex, Notify};

/// The default bound: about a day of one result a second.
pub const DEFAULT_LIMIT: u64 = 100_000;

/// What a message is, for the drop policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Inference,
    Event,
    Status,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Inference => "inference",
            Kind::Event => "event",
            Kind::Status => "status",
        }
    }
}

/// One message to publish.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub topic: String,
    pub payload: Vec<u8>,
    pub retain: bool,
    pub kind: Kind,
    /// The board it is about (empty for the gateway's own messages).
    pub device: String,
}

/// A queued message with its place in the queue.
#[derive(Debug, Clone, PartialEq)]
pub struct Queued {
    pub id: i64,
    pub message: Message,
}

#[derive(Debug, thiserror::Error)]
pub enum OutboxError {
    #[error("the gateway's outbox {path}: {source}")]
    Store { path: PathBuf, source: sqlx::Error },
}

/// The queue; cheap to clone (one shared handle).
#[derive(Clone)]
pub struct Outbox {
    pool: SqlitePool,
    path: PathBuf,
    limit: u64,
    /// Messages queued now (kept in memory so a push need not count the table).
    len: Arc<Mutex<u64>>,
    added: Arc<Notify>,
}

impl Outbox {
    /// Opens (or creates) the outbox in `dir`, keeping what an earlier run left queued.
    pub async fn open(dir: &Path, limit: u64) -> Result<Outbox, OutboxError> {
        let path = dir.join("outbox.db");
        let error = |source| OutboxError::Store { path: path.clone(), source };
        std::fs::create_dir_all(dir).map_err(|e| error(sqlx::Error::Io(e)))?;
        let options = SqliteConnectOptions::new()
            .filename(&path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(10));
        let pool = SqlitePoolOptions::new().max_connections(2).connect_with(options).await.map_err(error)?;
        for statement in [
            "CREATE TABLE IF NOT EXISTS outbox (id INTEGER PRIMARY KEY AUTOINCREMENT, topic TEXT NOT NULL, \
             payload BLOB NOT NULL, retain INTEGER NOT NULL, kind TEXT NOT NULL, device TEXT NOT NULL)",
            "CREATE INDEX IF NOT EXISTS outbox_kind ON outbox (kind, id)",
            "CREATE TABLE IF NOT EXISTS dropped (device TEXT PRIMARY KEY, count INTEGER NOT NULL)",
        ] {
            sqlx::query(statement).execute(&pool).await.map_err(error)?;
        }
        let len: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM outbox").fetch_one(&pool).await.map_err(error)?;
        Ok(Outbox {
            pool,
            path,
            limit: limit.max(1),
            len: Arc::new(Mutex::new(len as u64)),
            added: Arc::new(Notify::new()),
        })
    }

    fn error(&self, source: sqlx::Error) -> OutboxError {
        OutboxError::Store { path: self.path.clone(), source }
    }

    /// Queues `message`, dropping the oldest inference message first when the outbox is full.
    pub async fn push(&self, message: &Message) -> Result<(), OutboxError> {
        let mut len = self.len.lock().await;
        let mut transaction = self.pool.begin().await.map_err(|e| self.error(e))?;
        if *len >= self.limit {
            let oldest =
                sqlx::query("SELECT id, device FROM outbox WHERE kind = 'inference' ORDER BY id LIMIT 1")
                    .fetch_optional(&mut *transaction)
                    .await
                    .map_err(|e| self.error(e))?;
            let victim = match oldest {
                Some(row) => Some(row),
                None => sqlx::query("SELECT id, device FROM outbox ORDER BY id LIMIT 1")
                    .fetch_optional(&mut *transaction)
                    .await
                    .map_err(|e| self.error(e))?,
            };
            if let Some(row) = victim {
                let id: i64 = row.get(0);
                let device: String = row.get(1);
                sqlx::query("DELETE FROM outbox WHERE id = ?")
                    .bind(id)
                    .execute(&mut *transaction)
                    .await
                    .map_err(|e| self.error(e))?;
                sqlx::query(
                    "INSERT INTO dropped (device, count) VALUES (?, 1) ON CONFLICT(device) DO UPDATE SET count = count + 1",
                )
                .bind(device)
                .execute(&mut *transaction)
                .await
                .map_err(|e| self.error(e))?;
                *len -= 1;
            }
        }
        sqlx::query("INSERT INTO outbox (topic, payload, retain, kind, device) VALUES (?, ?, ?, ?, ?)")
            .bind(&message.topic)
            .bind(&message.payload)
            .bind(message.retain)
            .bind(message.kind.name())
            .bind(&message.device)
            .execute(&mut *transaction)
            .await
            .map_err(|e| self.error(e))?;
        transaction.commit().await.map_err(|e| self.error(e))?;
        *len += 1;
        drop(len);
        self.added.notify_one();
        Ok(())
    }

    /// Up to `max` messages queued after `after` (an id; 0 for the oldest), in order.
    pub async fn after(&self, after: i64, max: u32) -> Result<Vec<Queued>, OutboxError> {
        let rows = sqlx::query(
            "SELECT id, topic, payload, retain, kind, device FROM outbox WHERE id > ? ORDER BY id LIMIT ?",
        )
        .bind(after)
        .bind(i64::from(max))
        .fetch_all(&self.pool)
        .await
        .map_err(|e| self.error(e))?;
        Ok(rows
            .into_iter()
            .map(|row| Queued {
                id: row.get(0),
                message: Message {
                    topic: row.get(1),
                    payload: row.get(2),
                    retain: row.get(3),
                    kind: match row.get::<String, _>(4).as_str() {
                        "event" => Kind::Event,
                        "status" => Kind::Status,
                        _ => Kind::Inference,
                    },
                    device: row.get(5),
                },
            })
            .collect())
    }

    /// Removes a message the broker acknowledged.
    pub async fn remove(&self, id: i64) -> Result<(), OutboxError> {
        let mut len = self.len.lock().await;
        let done = sqlx::query("DELETE FROM outbox WHERE id = ?")
            .bind(id)
            .execute(&self.pool)
            .await
            .map_err(|e| self.error(e))?;
        *len = len.saturating_sub(done.rows_affected());
        Ok(())
    }

    /// Messages waiting now.
    pub async fn len(&self) -> u64 {
        *self.len.lock().await
    }

    /// The bound.
    pub fn limit(&self) -> u64 {
        self.limit
    }

    /// Inference messages of `device` dropped because the outbox was full, since the outbox was
    /// created.
    pub async fn dropped(&self, device: &str) -> Result<u64, OutboxError> {
        let count: Option<i64> = sqlx::query_scalar("SELECT count FROM dropped WHERE device = ?")
            .bind(device)
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| self.error(e))?;
        Ok(count.unwrap_or(0) as u64)
    }

    /// Waits until something is pushed (or returns at once if something was pushed since the
    /// last wait).
    pub async fn added(&self) {
        self.added.notified().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(kind: Kind, device: &str, n: u32) -> Message {
        Message {
            topic: format!("t/{device}/{}", kind.name()),
            payload: n.to_le_bytes().to_vec(),
            retain: kind == Kind::Status,
            kind,
            device: device.into(),
        }
    }

    #[tokio::test]
    async fn messages_leave_in_order_and_survive_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let outbox = Outbox::open(dir.path(), 100).await.unwrap();
        for n in 0..5 {
            outbox.push(&message(Kind::Inference, "a", n)).await.unwrap();
        }
        let first = outbox.after(0, 2).await.unwrap();
        assert_eq!(first.iter().map(|q| q.message.payload[0]).collect::<Vec<_>>(), [0, 1]);
        outbox.remove(first[0].id).await.unwrap();
        drop(outbox);

        let again = Outbox::open(dir.path(), 100).await.unwrap();
        assert_eq!(again.len().await, 4);
        let rest = again.after(0, 10).await.unwrap();
        assert_eq!(rest.iter().map(|q| q.message.payload[0]).collect::<Vec<_>>(), [1, 2, 3, 4]);
        assert_eq!(rest[0].message, message(Kind::Inference, "a", 1));
    }

    #[tokio::test]
    async fn a_full_outbox_drops_the_oldest_results_and_keeps_events_and_statuses() {
        let dir = tempfile::tempdir().unwrap();
        let outbox = Outbox::open(dir.path(), 4).await.unwrap();
        outbox.push(&message(Kind::Status, "a", 0)).await.unwrap();
        outbox.push(&message(Kind::Inference, "a", 1)).await.unwrap();
        outbox.push(&message(Kind::Event, "a", 2)).await.unwrap();
        outbox.push(&message(Kind::Inference, "b", 3)).await.unwrap();
        outbox.push(&message(Kind::Inference, "a", 4)).await.unwrap();
        outbox.push(&message(Kind::Inference, "a", 5)).await.unwrap();
        let kept: Vec<u8> = outbox.after(0, 10).await.unwrap().iter().map(|q| q.message.payload[0]).collect();
        assert_eq!(kept, [0, 2, 4, 5]);
        assert_eq!(outbox.len().await, 4);
        assert_eq!((outbox.dropped("a").await.unwrap(), outbox.dropped("b").await.unwrap()), (1, 1));
        // Only events and statuses left: the oldest of them goes.
        let small = tempfile::tempdir().unwrap();
        let outbox = Outbox::open(small.path(), 1).await.unwrap();
        outbox.push(&message(Kind::Status, "a", 7)).await.unwrap();
        outbox.push(&message(Kind::Event, "a", 8)).await.unwrap();
        assert_eq!(outbox.after(0, 10).await.unwrap()[0].message.payload[0], 8);
    }
}
