//! Group commit for intake: the submissions waiting for a writer are
//! written together, committed once and made durable by one flush.
//!
//! Every commit waits for the disk (about a millisecond on this kind of
//! machine), and every statement costs the database far more than a row
//! (protocol, planning, locks on each table and index touched). On SQLite,
//! with `synchronous = FULL`, the first alone capped the embedded store
//! near a thousand items a second; on PostgreSQL the second kept intake
//! well below the database's capacity. Here a task owns the writing: it
//! takes every submission queued while the previous batch was being
//! written, writes them with one statement per table (PostgreSQL: one
//! statement in all) and one commit, and only then answers each caller.
//! Should writing fail, nothing of the batch is kept (SQLite's tracking
//! numbers with it, so codes keep having no gaps) and each is written
//! again on its own, so a failure is its submission's alone. (Savepoints
//! around each would do the same at the price of two more round trips per
//! submission, for a failure that almost never happens.) Nobody is
//! answered before the commit that holds their item is on disk, so an
//! acknowledged item survives power loss exactly as before; a lone
//! submission is written at once (no waiting for company).
//!
//! Several tasks may share the queue (PostgreSQL): while one batch is
//! written, the next gathers and goes to another connection. SQLite has
//! one writer, so one task.
//!
//! The tasks are started by the first submission, in that caller's
//! runtime, and started again if that runtime has gone (a test server
//! stopped, for one); a caller whose submission was lost with it gets
//! `Unavailable`, a retryable answer, never a false acknowledgement.

use std::sync::{Arc, Mutex};

use futures_util::future::BoxFuture;
use sea_orm::{DatabaseConnection, DbErr};
use tokio::sync::{mpsc, oneshot};

use super::StoreError;

/// The most submissions written in one transaction: bounds how long the
/// writer keeps the database to itself and how much one failed commit
/// can refuse.
const BATCH_MAX: usize = 64;
/// Submissions waiting beyond this make callers wait to queue
/// (back-pressure instead of unbounded memory).
const QUEUE_MAX: usize = 1024;

/// Writes submissions and commits them, answering one value per
/// submission in their order. When the database refuses what it writes
/// (`Conflict`, `Database`), nothing of them may be kept: it is called
/// again with each of them alone. An error once something may have been
/// committed must be `Integrity` (or `Unavailable`), which every caller
/// of the batch hears as it is.
pub(crate) type WriteMany<R, T> =
    for<'a> fn(&'a DatabaseConnection, &'a [R]) -> BoxFuture<'a, Result<Vec<T>, StoreError>>;

struct Job<R, T> {
    request: R,
    reply: oneshot::Sender<Result<T, StoreError>>,
}

/// The running writer's queue, if one was started.
type Queue<R, T> = Arc<Mutex<Option<mpsc::Sender<Job<R, T>>>>>;

/// The queue in front of the writing task; cheap to clone with the store.
pub(crate) struct GroupCommit<R, T> {
    write: WriteMany<R, T>,
    writers: usize,
    sender: Queue<R, T>,
}

impl<R, T> Clone for GroupCommit<R, T> {
    fn clone(&self) -> Self {
        Self {
            write: self.write,
            writers: self.writers,
            sender: self.sender.clone(),
        }
    }
}

impl<R, T> std::fmt::Debug for GroupCommit<R, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("GroupCommit")
    }
}

impl<R: Send + Sync + 'static, T: Send + 'static> GroupCommit<R, T> {
    /// `writers` tasks (at least one) take batches from one queue.
    pub(crate) fn new(write: WriteMany<R, T>, writers: usize) -> Self {
        Self {
            write,
            writers: writers.max(1),
            sender: Arc::default(),
        }
    }

    /// Writes `request` in the next batch and answers once that batch is
    /// committed (or with the error that refused it).
    pub(crate) async fn submit(
        &self,
        db: &DatabaseConnection,
        request: R,
    ) -> Result<T, StoreError> {
        let (reply, answer) = oneshot::channel();
        let sender = self.sender(db)?;
        sender
            .send(Job { request, reply })
            .await
            .map_err(|_| writer_gone())?;
        answer.await.map_err(|_| writer_gone())?
    }

    /// The running task's queue, starting the task if there is none.
    fn sender(&self, db: &DatabaseConnection) -> Result<mpsc::Sender<Job<R, T>>, StoreError> {
        let mut slot = self
            .sender
            .lock()
            .map_err(|_| StoreError::Integrity("group commit lock poisoned".into()))?;
        if let Some(sender) = slot.as_ref()
            && !sender.is_closed()
        {
            return Ok(sender.clone());
        }
        let (sender, receiver) = mpsc::channel(QUEUE_MAX);
        let receiver = Arc::new(tokio::sync::Mutex::new(receiver));
        for _ in 0..self.writers {
            tokio::spawn(write_batches(db.clone(), self.write, receiver.clone()));
        }
        *slot = Some(sender.clone());
        Ok(sender)
    }
}

/// A writing task: one batch per turn, of everything queued meanwhile (a
/// task waiting for the queue while another gathers takes the next batch).
async fn write_batches<R: Send + Sync + 'static, T: Send + 'static>(
    db: DatabaseConnection,
    write: WriteMany<R, T>,
    receiver: Arc<tokio::sync::Mutex<mpsc::Receiver<Job<R, T>>>>,
) {
    let mut batch = Vec::with_capacity(BATCH_MAX);
    loop {
        let taken = receiver.lock().await.recv_many(&mut batch, BATCH_MAX).await;
        if taken == 0 {
            break;
        }
        let (requests, replies): (Vec<R>, Vec<_>) = std::mem::take(&mut batch)
            .into_iter()
            .map(|job| (job.request, job.reply))
            .unzip();
        write_batch(&db, write, &requests, replies).await;
    }
}

async fn write_batch<R, T>(
    db: &DatabaseConnection,
    write: WriteMany<R, T>,
    requests: &[R],
    replies: Vec<oneshot::Sender<Result<T, StoreError>>>,
) {
    if requests.len() > 1 {
        match write_counted(db, write, requests).await {
            Ok(written) => {
                for (reply, value) in replies.into_iter().zip(written) {
                    let _ = reply.send(Ok(value));
                }
                return;
            }
            // The database can't be reached: everybody hears why at once
            // (rather than each waiting for a connection in turn). Or
            // something is inconsistent, perhaps after the commit: writing
            // them again could write them twice.
            Err(e @ (StoreError::Unavailable(_) | StoreError::Integrity(_))) => {
                for reply in replies {
                    let _ = reply.send(Err(copy_error(&e)));
                }
                return;
            }
            // The database refused what one of them wrote: nothing was
            // kept; each goes again on its own.
            Err(_) => {}
        }
    }
    // Alone (or again alone, writing the batch having failed): each hears
    // its own answer.
    for (request, reply) in requests.chunks(1).zip(replies) {
        let answer = write_counted(db, write, request)
            .await
            .and_then(|mut written| {
                written.pop().ok_or_else(|| {
                    StoreError::Integrity("a group commit's writer answered nothing".into())
                })
            });
        let _ = reply.send(answer);
    }
}

/// `write` of `requests`, refused if it answers for a different number.
async fn write_counted<R, T>(
    db: &DatabaseConnection,
    write: WriteMany<R, T>,
    requests: &[R],
) -> Result<Vec<T>, StoreError> {
    let written = write(db, requests).await?;
    if written.len() == requests.len() {
        Ok(written)
    } else {
        Err(StoreError::Integrity(
            "a group commit's writer answered for a different number of submissions".into(),
        ))
    }
}

fn writer_gone() -> StoreError {
    StoreError::Unavailable(DbErr::Custom(
        "the database writer stopped before answering".into(),
    ))
}

/// The same error for each caller of a refused batch.
fn copy_error(e: &StoreError) -> StoreError {
    match e {
        StoreError::Unavailable(db) => StoreError::Unavailable(DbErr::Custom(db.to_string())),
        StoreError::Conflict(m) => StoreError::Conflict(m.clone()),
        StoreError::Database(db) => StoreError::Database(DbErr::Custom(db.to_string())),
        StoreError::Integrity(m) => StoreError::Integrity(m.clone()),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use sea_orm::{
        ConnectOptions, ConnectionTrait, Database, DbBackend, Statement, TransactionTrait,
    };

    use super::*;

    async fn open(path: &std::path::Path) -> DatabaseConnection {
        open_with(path, 1).await
    }

    async fn open_with(path: &std::path::Path, connections: u32) -> DatabaseConnection {
        let mut options = ConnectOptions::new(format!("sqlite://{}?mode=rwc", path.display()));
        options.max_connections(connections).sqlx_logging(false);
        Database::connect(options).await.expect("open")
    }

    /// A scratch database in WAL mode with table `t`: its directory (kept
    /// for the test's length), a pool of `connections` to write with and
    /// a connection that sees only what is committed.
    async fn scratch(
        connections: u32,
    ) -> (tempfile::TempDir, DatabaseConnection, DatabaseConnection) {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("g.db");
        let db = open_with(&path, connections).await;
        db.execute_unprepared("PRAGMA journal_mode = WAL; CREATE TABLE t (n INTEGER)")
            .await
            .expect("schema");
        let observer = open(&path).await;
        (dir, db, observer)
    }

    async fn stored(observer: &DatabaseConnection) -> Vec<i64> {
        let rows = observer
            .query_all_raw(Statement::from_string(
                DbBackend::Sqlite,
                "SELECT n FROM t ORDER BY n",
            ))
            .await
            .expect("rows");
        rows.iter()
            .map(|r| r.try_get_by_index(0).expect("n"))
            .collect()
    }

    /// A submission: its number, whether writing it fails, how long
    /// writing it takes.
    type Insert = (i64, bool, Duration);

    fn insert(n: i64, fail: bool, pause: Duration) -> Insert {
        (n, fail, pause)
    }

    /// Writes the batch in a transaction of its own, rolled back if one
    /// of them fails.
    fn insert_all<'a>(
        db: &'a DatabaseConnection,
        batch: &'a [Insert],
    ) -> BoxFuture<'a, Result<Vec<i64>, StoreError>> {
        Box::pin(async move {
            let txn = db.begin().await?;
            let mut written = Vec::new();
            for &(n, fail, pause) in batch {
                tokio::time::sleep(pause).await;
                txn.execute_raw(Statement::from_sql_and_values(
                    DbBackend::Sqlite,
                    "INSERT INTO t (n) VALUES (?1)",
                    [n.into()],
                ))
                .await?;
                if fail {
                    txn.rollback().await?;
                    return Err(StoreError::Conflict(format!("job {n} refused")));
                }
                written.push(n);
            }
            txn.commit().await?;
            Ok(written)
        })
    }

    /// Submits `first` (slow, so that the rest queue behind it), then
    /// `rest` at once; answers in the order submitted.
    async fn round(
        group: &GroupCommit<Insert, i64>,
        db: &DatabaseConnection,
        first: Insert,
        rest: Vec<Insert>,
        meanwhile: impl std::future::Future<Output = ()>,
    ) -> Vec<Result<i64, StoreError>> {
        let first = tokio::spawn({
            let (group, db) = (group.clone(), db.clone());
            async move { group.submit(&db, first).await }
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        let rest: Vec<_> = rest
            .into_iter()
            .map(|work| {
                let (group, db) = (group.clone(), db.clone());
                tokio::spawn(async move { group.submit(&db, work).await })
            })
            .collect();
        meanwhile.await;
        let mut answers = vec![first.await.expect("join")];
        for handle in rest {
            answers.push(handle.await.expect("join"));
        }
        answers
    }

    /// The submissions that wait while a batch is written go together:
    /// none of them is visible to another connection (committed) before
    /// the last of them is written. One that fails fails alone: its
    /// batch is written again one by one.
    #[tokio::test]
    async fn waiting_submissions_share_one_commit_and_a_failure_is_its_own() {
        let (_dir, db, observer) = scratch(1).await;
        let slow = Duration::from_millis(300);
        let group = GroupCommit::new(insert_all, 1);

        // Ten wait behind a slow first; the last of them is slow too.
        let rest = (1..=10)
            .map(|n| insert(n, false, if n == 10 { slow } else { Duration::ZERO }))
            .collect();
        let answers = round(&group, &db, insert(0, false, slow), rest, async {
            // Half-way through the second batch's last submission: its
            // first nine are written, none committed.
            tokio::time::sleep(Duration::from_millis(400)).await;
            assert_eq!(
                stored(&observer).await,
                vec![0],
                "only the first batch is committed"
            );
        })
        .await;
        let written: Vec<i64> = answers.into_iter().map(|a| a.expect("written")).collect();
        assert_eq!(written, (0..=10).collect::<Vec<_>>());
        assert_eq!(stored(&observer).await, (0..=10).collect::<Vec<_>>());

        // Five wait; the third fails.
        let rest = (12..=16)
            .map(|n| insert(n, n == 14, Duration::ZERO))
            .collect();
        let answers = round(&group, &db, insert(11, false, slow), rest, async {}).await;
        for (n, answer) in (11..=16).zip(answers) {
            match answer {
                Ok(written) => assert_eq!(written, n),
                Err(StoreError::Conflict(m)) => assert_eq!(m, "job 14 refused"),
                Err(e) => panic!("job {n}: {e}"),
            }
        }
        let mut expected: Vec<i64> = (0..=16).collect();
        expected.retain(|n| *n != 14);
        assert_eq!(
            stored(&observer).await,
            expected,
            "the failed submission's row is undone, its batch's others kept"
        );
    }

    /// With two writers, submissions that arrive while one batch is
    /// being written are written and committed by the other meanwhile,
    /// not after it.
    #[tokio::test]
    async fn a_second_writer_commits_while_the_first_writes() {
        let (_dir, db, observer) = scratch(2).await;
        let group = GroupCommit::new(insert_all, 2);

        let slow = tokio::spawn({
            let (group, db) = (group.clone(), db.clone());
            async move {
                group
                    .submit(&db, insert(0, false, Duration::from_millis(600)))
                    .await
            }
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        let rest: Vec<_> = (1..=10)
            .map(|n| {
                let (group, db) = (group.clone(), db.clone());
                tokio::spawn(
                    async move { group.submit(&db, insert(n, false, Duration::ZERO)).await },
                )
            })
            .collect();
        for (n, handle) in (1..=10).zip(rest) {
            assert_eq!(handle.await.expect("join").expect("written"), n);
        }
        assert!(
            !slow.is_finished(),
            "the first batch is still being written"
        );
        assert_eq!(
            stored(&observer).await,
            (1..=10).collect::<Vec<_>>(),
            "the others are committed meanwhile"
        );
        assert_eq!(slow.await.expect("join").expect("written"), 0);
        assert_eq!(stored(&observer).await, (0..=10).collect::<Vec<_>>());
    }

    /// Commits the batch, then answers that something is inconsistent
    /// (as a writer whose committed answer can't be read).
    fn commit_then_fail<'a>(
        db: &'a DatabaseConnection,
        batch: &'a [Insert],
    ) -> BoxFuture<'a, Result<Vec<i64>, StoreError>> {
        Box::pin(async move {
            insert_all(db, batch).await?;
            Err(StoreError::Integrity("answer unreadable".into()))
        })
    }

    /// A batch that fails once something may have been committed is not
    /// written again submission by submission: that could write it twice.
    #[tokio::test]
    async fn an_inconsistency_is_answered_not_written_again() {
        let (_dir, db, observer) = scratch(1).await;
        let group = GroupCommit::new(commit_then_fail, 1);
        let rest = (1..=5).map(|n| insert(n, false, Duration::ZERO)).collect();
        let answers = round(
            &group,
            &db,
            insert(0, false, Duration::from_millis(300)),
            rest,
            async {},
        )
        .await;
        for answer in answers {
            assert!(
                matches!(answer, Err(StoreError::Integrity(_))),
                "{answer:?}"
            );
        }
        assert_eq!(
            stored(&observer).await,
            (0..=5).collect::<Vec<_>>(),
            "each written once"
        );
    }

    #[test]
    fn a_writer_lost_with_its_runtime_is_started_again() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("g.db");
        let group = GroupCommit::new(insert_all, 1);
        let runtime = || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime")
        };
        // The first caller's runtime starts the writer, then goes away
        // (as a stopped server's does).
        let first = runtime();
        first.block_on(async {
            let db = open(&path).await;
            db.execute_unprepared("CREATE TABLE t (n INTEGER)")
                .await
                .expect("schema");
            group
                .submit(&db, insert(1, false, Duration::ZERO))
                .await
                .expect("first written");
        });
        drop(first);
        let second = runtime();
        let written = second.block_on(async {
            let db = open(&path).await;
            group.submit(&db, insert(2, false, Duration::ZERO)).await
        });
        assert_eq!(written.expect("a new writer takes the submission"), 2);
    }
}
