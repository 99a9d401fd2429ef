//! Models on a board: which slots hold what, uploading a blob into the inactive slot, and
//! starting/stopping on-board inference.

use std::sync::atomic::{AtomicBool, Ordering};

use mote_wire::{CRC, MAX_CHUNK_BYTES, Message, ModelBegin, ModelChunk, StartInference};

use super::board::{Board, REPLY_TIMEOUT, Reply};
use super::error::LinkError;
use super::types::{ModelSlot, SlotStatus};

impl Board {
    /// Every model slot as the board reports it now.
    pub async fn query_slots(&mut self) -> Result<Vec<ModelSlot>, LinkError> {
        let count = self.info().model_slots.len();
        if count == 0 {
            return Ok(Vec::new());
        }
        self.send(&Message::ModelQuery)?;
        let mut slots: Vec<Option<ModelSlot>> = vec![None; count];
        while slots.iter().any(Option::is_none) {
            let accept = |r: &Reply| matches!(r, Reply::ModelStatus(_));
            match self.wait_for("ModelQuery", accept, REPLY_TIMEOUT).await? {
                Reply::ModelStatus(slot) => {
                    if let Some(entry) = slots.get_mut(usize::from(slot.slot)) {
                        *entry = Some(slot);
                    }
                }
                _ => unreachable!("accepted only ModelStatus"),
            }
        }
        Ok(slots.into_iter().flatten().collect())
    }

    /// Uploads `blob` into the slot that is not active (the active model keeps running until the
    /// board has checked the whole upload). `progress(sent, total)` is called after every chunk;
    /// `cancel` stops between chunks (the board then keeps its previous model).
    pub async fn upload_model(
        &mut self,
        blob: &[u8],
        cancel: &AtomicBool,
        mut progress: impl FnMut(u32, u32),
    ) -> Result<ModelSlot, LinkError> {
        if !self.info().has_capability("model_upload") {
            let board = &self.info().board;
            // A board with a model but no uploads runs a lean firmware: its model is built in.
            return Err(LinkError::Invalid(if self.info().model_slots.is_empty() {
                format!("{board} does not take model uploads")
            } else {
                format!(
                    "{board} runs a lean firmware with its model built in, so it takes no uploads; \
                     build one with the new model (mote deploy --export firmware --board {board}) and flash it"
                )
            }));
        }
        let size = u32::try_from(blob.len()).map_err(|_| LinkError::Invalid("model above 4 GiB".into()))?;
        let slots = self.query_slots().await?;
        let target = slots
            .iter()
            .find(|slot| !slot.active)
            .ok_or_else(|| LinkError::Invalid("the board has no free model slot".into()))?;
        if size > target.capacity {
            return Err(LinkError::Invalid(format!(
                "the model is {size} bytes; slot {} holds at most {} bytes",
                target.slot, target.capacity
            )));
        }
        let slot = target.slot;
        let begin = Message::ModelBegin(ModelBegin { slot, size, crc: CRC.checksum(blob) });
        self.request(&begin, |r| is_slot(r, slot), REPLY_TIMEOUT).await?;
        let mut offset = 0u32;
        for chunk in blob.chunks(MAX_CHUNK_BYTES) {
            if cancel.load(Ordering::Relaxed) {
                return Err(LinkError::Cancelled);
            }
            let message = Message::ModelChunk(ModelChunk { slot, offset, bytes: chunk });
            let next = offset + chunk.len() as u32;
            let accept = |r: &Reply| {
                matches!(r, Reply::ModelStatus(s) if s.slot == slot
                    && s.state == SlotStatus::Receiving { size, received: next })
            };
            self.request(&message, accept, REPLY_TIMEOUT).await?;
            offset = next;
            progress(offset, size);
        }
        let accept = |r: &Reply| matches!(r, Reply::ModelStatus(s) if s.slot == slot && s.active);
        match self.request(&Message::ModelCommit { slot }, accept, REPLY_TIMEOUT).await? {
            Reply::ModelStatus(status) => Ok(status),
            _ => unreachable!("accepted only ModelStatus"),
        }
    }

    /// Starts classifying on the board; results arrive as [`Reply::Inference`] events (and the
    /// windows as [`Reply::Window`] when `echo_windows`).
    pub async fn start_inference(&mut self, echo_windows: bool) -> Result<(), LinkError> {
        let request = Message::StartInference(StartInference { echo_windows });
        let tag = request.tag();
        self.request(&request, |r| *r == Reply::Ack { request: tag }, REPLY_TIMEOUT).await?;
        Ok(())
    }

    /// Stops on-board classification. Not running is not an error.
    pub async fn stop_inference(&mut self) -> Result<(), LinkError> {
        let request = Message::StopInference;
        let tag = request.tag();
        match self.request(&request, |r| *r == Reply::Ack { request: tag }, REPLY_TIMEOUT).await {
            Ok(_) | Err(LinkError::Refused { code: mote_wire::ErrorCode::UNKNOWN_STREAM, .. }) => Ok(()),
            Err(error) => Err(error),
        }
    }
}

fn is_slot(reply: &Reply, slot: u8) -> bool {
    matches!(reply, Reply::ModelStatus(s) if s.slot == slot)
}
