//! Fuzzes the FLV/Enhanced-RTMP media tag views: the first byte picks audio or video, the rest
//! is the message payload. Any input must parse or fail cleanly; a parsed tag must yield as
//! many tracks as it reports, each body a slice of the payload; sequence headers also go
//! through the decoder configuration record parsers.
#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use rtmp_core::proto::media::{AudioConfig, AudioTag, VideoConfig, VideoTag};

/// Whether `part` lies inside `whole` (zero-copy slices of the payload).
fn is_within(part: &Bytes, whole: &Bytes) -> bool {
    let whole_range = whole.as_ptr_range();
    part.is_empty() || (whole_range.start <= part.as_ptr() && part.as_ptr_range().end <= whole_range.end)
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else { return };
    let payload = Bytes::copy_from_slice(rest);
    if selector & 1 == 0 {
        let Ok(tag) = VideoTag::parse(&payload) else { return };
        let mut count = 0;
        for track in tag.tracks() {
            count += 1;
            assert!(is_within(&track.body, &payload), "track body is not a slice of the payload");
            if tag.is_sequence_header()
                && let Ok(config) = VideoConfig::parse(track.codec, &track.body)
            {
                let _ = (config.codec_string(), config.resolution(), config.bit_depth());
            }
        }
        assert_eq!(count, tag.track_count());
        let _ = (tag.frame_type(), tag.composition_time(), tag.nano_offset(), tag.command());
    } else {
        let Ok(tag) = AudioTag::parse(&payload) else { return };
        let mut count = 0;
        for track in tag.tracks() {
            count += 1;
            assert!(is_within(&track.body, &payload), "track body is not a slice of the payload");
            if tag.is_sequence_header()
                && let Ok(config) = AudioConfig::parse(track.codec, &track.body)
            {
                let _ = (config.codec_string(), config.sample_rate(), config.channels());
            }
        }
        assert_eq!(count, tag.track_count());
        let _ = (tag.multichannel_config(), tag.sound_rate(), tag.nano_offset());
    }
});
