//! How a world starts: the keys, versions and consumers of [`Start`], and the mirror (§19).

use crate::hands;
use crate::model::{Lifecycle, Start};
use crate::properties;
use crate::world::{
    Consumer, Mirror, Owner, State, Tags, Truth, Value, Version, CURRENT, PREVIOUS,
};

impl Lifecycle {
    pub(crate) fn initial(&self) -> State {
        let key = |id, created| hands::new_key(id, Owner::Bound, created);
        let version = |id, value, labels, created| Version {
            id,
            value,
            labels,
            created,
        };
        let mut first = key(1, 0);
        first.reported = Some(1);
        let mut keys = vec![first, key(2, 1), hands::new_key(9, Owner::Other, 0)];
        let mut versions = vec![
            version(1, Value::Pair(Owner::Bound, 1), PREVIOUS, 0),
            version(2, Value::Pair(Owner::Bound, 2), CURRENT, 1),
        ];
        let consumer = |holds, via_mirror| Consumer { holds, via_mirror };
        let mut consumers = vec![consumer(Some(1), false)];
        if self.second_consumer {
            consumers.push(consumer(None, false));
        }
        if self.start == Start::CurrentOnly {
            keys.remove(0);
            versions[0].labels = PREVIOUS;
            consumers[0].holds = Some(2);
        }
        // The mirror holds the key its consumer reads: the previous one, after a rotation whose
        // write to it failed.
        let mirror = self.mirror.then(|| Mirror {
            holds: consumers[0].holds,
            claims: true,
        });
        if let Some(m) = mirror {
            consumers.push(consumer(m.holds, true));
        }
        State {
            now: 1,
            next_id: 10,
            keys,
            versions,
            last_rotated: Some(1),
            tags: Tags::default(),
            bound: true,
            consumers,
            rotation: None,
            step: None,
            sweep: None,
            mirror,
            truth: Truth {
                promoted: 1,
                ever_current: properties::bit(1) | properties::bit(2),
                ..Truth::default()
            },
        }
    }
}
