//! AMF3 decoding with the string, object and traits reference tables.
//!
//! References are resolved into owned copies. Two things keep that safe on hostile input:
//! every object-table entry remembers how many bytes its value cost to build and how deeply it
//! nests, so a reference is charged like the inline value it stands for and cannot be used to
//! nest past [`AmfLimits::max_depth`]; and a reference to an object that is still being
//! decoded (a cycle) is refused, since an owned tree cannot contain itself.

use std::mem::size_of;

use super::amf3::{Amf3Value, marker};
use super::budget::{MemoryBudget, enter};
use super::reader::{
    check_count, check_room_for_one_more, initial_capacity, read_f64, read_i32, read_u8, take,
};
use super::reader::{read_u32, read_utf8};
use super::u29::{read_i29, read_u29};
use super::{AmfError, AmfLimits};

/// What every decoded value is charged, on top of the text and elements it owns.
const VALUE_COST: usize = size_of::<Amf3Value>();

/// What a member name costs on top of its text (the `String` beside each named value).
const NAME_COST: usize = size_of::<String>();

/// One entry of the object reference table.
#[derive(Debug)]
enum ObjectSlot {
    /// Still being decoded: a reference to it is a cycle.
    InProgress,
    /// Fully decoded.
    Done {
        /// The value a reference to this slot stands for.
        value: Amf3Value,
        /// Bytes charged while decoding it, charged again for every copy.
        cost: usize,
        /// How many container levels it spans (0 for scalars such as dates and byte arrays).
        height: usize,
    },
}

/// One entry of the traits reference table: the shape of a class of objects.
#[derive(Debug, Clone)]
struct Traits {
    class_name: String,
    sealed_names: Vec<String>,
    dynamic: bool,
}

impl Traits {
    /// Bytes a copy of these traits costs.
    fn cost(&self) -> usize {
        let per_name = |name: &String| name.len().saturating_add(NAME_COST);
        self.sealed_names
            .iter()
            .fold(per_name(&self.class_name), |sum, name| sum.saturating_add(per_name(name)))
    }
}

/// Decodes AMF3 values that share one set of reference tables, as values in one AMF3 stream
/// do. The tables, and the [`AmfLimits::max_decoded_bytes`] budget, cover every value decoded
/// since [`Decoder::new`] or the last [`Decoder::reset`]; a decoder that reports an error
/// resets itself, since what the tables should hold is then unknown.
#[derive(Debug)]
pub struct Decoder {
    limits: AmfLimits,
    strings: Vec<String>,
    objects: Vec<ObjectSlot>,
    traits: Vec<Traits>,
    budget: MemoryBudget,
    /// The deepest nesting level reached inside the complex value being decoded.
    deepest: usize,
}

impl Default for Decoder {
    fn default() -> Self {
        Self::new(AmfLimits::default())
    }
}

impl Decoder {
    /// A decoder with empty reference tables.
    pub fn new(limits: AmfLimits) -> Self {
        Self {
            limits,
            strings: Vec::new(),
            objects: Vec::new(),
            traits: Vec::new(),
            budget: MemoryBudget::new(&limits),
            deepest: 0,
        }
    }

    /// Decodes one value from the front of `input`, advancing it. Strings, objects and traits
    /// it defines can be referenced by the values decoded after it.
    pub fn decode(&mut self, input: &mut &[u8]) -> Result<Amf3Value, AmfError> {
        self.deepest = 0;
        let result = self.value(input, 0);
        if result.is_err() {
            self.reset();
        }
        result
    }

    /// Empties the reference tables and the memory budget.
    pub fn reset(&mut self) {
        *self = Self::new(self.limits);
    }

    /// Decodes the value after an AMF0 avmplus marker: fresh tables, nested at AMF0 `depth`,
    /// spending the AMF0 decoder's `budget` (the tables' share is released afterwards).
    pub(super) fn decode_embedded(
        input: &mut &[u8],
        limits: &AmfLimits,
        depth: usize,
        budget: &mut MemoryBudget,
    ) -> Result<Amf3Value, AmfError> {
        let mut decoder = Self::new(*limits);
        decoder.budget = *budget;
        decoder.deepest = depth;
        let value = decoder.value(input, depth)?;
        *budget = decoder.budget;
        budget.release_tables();
        Ok(value)
    }

    /// Decodes one value of any type; `depth` is how many containers enclose it.
    fn value(&mut self, input: &mut &[u8], depth: usize) -> Result<Amf3Value, AmfError> {
        let type_marker = read_u8(input)?;
        self.budget.charge_output(VALUE_COST)?;
        match type_marker {
            marker::UNDEFINED => Ok(Amf3Value::Undefined),
            marker::NULL => Ok(Amf3Value::Null),
            marker::FALSE => Ok(Amf3Value::Boolean(false)),
            marker::TRUE => Ok(Amf3Value::Boolean(true)),
            marker::INTEGER => read_i29(input).map(Amf3Value::Integer),
            marker::DOUBLE => read_f64(input).map(Amf3Value::Double),
            marker::STRING => self.string(input).map(Amf3Value::String),
            marker::XML_DOCUMENT..=marker::DICTIONARY => self.complex(input, type_marker, depth),
            unknown => Err(AmfError::UnknownMarker(unknown)),
        }
    }

    /// Checks that a container at `depth` may open and records the level it reaches.
    fn enter(&mut self, depth: usize) -> Result<usize, AmfError> {
        let inner = enter(depth, &self.limits)?;
        self.deepest = self.deepest.max(inner);
        Ok(inner)
    }

    /// A value that goes in the object table: either a reference to an earlier one or an
    /// inline value, which is added to the table before its contents are decoded.
    fn complex(&mut self, input: &mut &[u8], type_marker: u8, depth: usize) -> Result<Amf3Value, AmfError> {
        let header = read_u29(input)?;
        let payload = header >> 1;
        if header & 1 == 0 {
            return self.object_reference(payload, depth);
        }
        let index = self.objects.len();
        self.budget.charge_tables(size_of::<ObjectSlot>())?;
        self.objects.push(ObjectSlot::InProgress);

        let output_before = self.budget.output();
        let outer_deepest = std::mem::replace(&mut self.deepest, depth);
        let value = self.complex_body(input, type_marker, payload, depth)?;
        let height = self.deepest.saturating_sub(depth);
        self.deepest = self.deepest.max(outer_deepest);
        let cost = self.budget.output().saturating_sub(output_before);

        self.budget.charge_tables(cost)?;
        if let Some(slot) = self.objects.get_mut(index) {
            *slot = ObjectSlot::Done { value: value.clone(), cost, height };
        }
        Ok(value)
    }

    /// A copy of object-table entry `index`, charged and depth-checked as if sent inline.
    fn object_reference(&mut self, index: u32, depth: usize) -> Result<Amf3Value, AmfError> {
        match self.objects.get(to_usize(index)) {
            None => Err(AmfError::BadReference(index)),
            Some(ObjectSlot::InProgress) => Err(AmfError::CyclicReference(index)),
            Some(ObjectSlot::Done { value, cost, height }) => {
                if *height > 0 {
                    let level = depth.saturating_add(*height);
                    if level > self.limits.max_depth {
                        return Err(AmfError::TooDeep(self.limits.max_depth));
                    }
                    self.deepest = self.deepest.max(level);
                }
                self.budget.charge_output(*cost)?;
                Ok(value.clone())
            }
        }
    }

    /// The contents of an inline complex value; `payload` is its header without the inline
    /// flag (a length, a count, or the traits bits of an object).
    fn complex_body(
        &mut self,
        input: &mut &[u8],
        type_marker: u8,
        payload: u32,
        depth: usize,
    ) -> Result<Amf3Value, AmfError> {
        match type_marker {
            marker::XML_DOCUMENT => self.text(input, payload).map(Amf3Value::XmlDocument),
            marker::XML => self.text(input, payload).map(Amf3Value::Xml),
            // The date header carries no data besides the inline flag.
            marker::DATE => read_f64(input).map(Amf3Value::Date),
            marker::ARRAY => self.array(input, payload, depth),
            marker::OBJECT => self.object(input, payload, depth),
            marker::BYTE_ARRAY => {
                let len = to_usize(payload);
                let bytes = take(input, len)?;
                self.budget.charge_output(len)?;
                Ok(Amf3Value::ByteArray(bytes.to_vec()))
            }
            marker::VECTOR_INT => {
                let (fixed, count) = self.vector_header(input, payload, size_of::<i32>())?;
                let items = (0..count).map(|_| read_i32(input)).collect::<Result<_, _>>()?;
                Ok(Amf3Value::VectorInt { fixed, items })
            }
            marker::VECTOR_UINT => {
                let (fixed, count) = self.vector_header(input, payload, size_of::<u32>())?;
                let items = (0..count).map(|_| read_u32(input)).collect::<Result<_, _>>()?;
                Ok(Amf3Value::VectorUint { fixed, items })
            }
            marker::VECTOR_DOUBLE => {
                let (fixed, count) = self.vector_header(input, payload, size_of::<f64>())?;
                let items = (0..count).map(|_| read_f64(input)).collect::<Result<_, _>>()?;
                Ok(Amf3Value::VectorDouble { fixed, items })
            }
            marker::VECTOR_OBJECT => self.vector_object(input, payload, depth),
            marker::DICTIONARY => self.dictionary(input, payload, depth),
            unknown => Err(AmfError::UnknownMarker(unknown)),
        }
    }

    /// A UTF-8-vr: an inline string (added to the string table unless empty) or a reference.
    fn string(&mut self, input: &mut &[u8]) -> Result<String, AmfError> {
        let header = read_u29(input)?;
        let payload = header >> 1;
        if header & 1 == 0 {
            let text = self.strings.get(to_usize(payload)).ok_or(AmfError::BadReference(payload))?;
            self.budget.charge_output(text.len())?;
            return Ok(text.clone());
        }
        let text = self.text(input, payload)?;
        if !text.is_empty() {
            self.budget.charge_tables(text.len().saturating_add(NAME_COST))?;
            self.strings.push(text.clone());
        }
        Ok(text)
    }

    /// `len` bytes of UTF-8, checked against the input before allocating.
    fn text(&mut self, input: &mut &[u8], len: u32) -> Result<String, AmfError> {
        let len = to_usize(len);
        if len > input.len() {
            return Err(AmfError::Truncated);
        }
        self.budget.charge_output(len)?;
        read_utf8(input, len)
    }

    /// Name-value pairs up to the empty name, as in an array's associative part or an object's
    /// dynamic members.
    fn named_values(
        &mut self,
        input: &mut &[u8],
        inner: usize,
    ) -> Result<Vec<(String, Amf3Value)>, AmfError> {
        let mut members = Vec::new();
        loop {
            let name = self.string(input)?;
            if name.is_empty() {
                return Ok(members);
            }
            check_room_for_one_more(members.len(), &self.limits)?;
            self.budget.charge_output(NAME_COST)?;
            let value = self.value(input, inner)?;
            members.push((name, value));
        }
    }

    /// An array: the dense count is in the header, the associative part comes first.
    fn array(&mut self, input: &mut &[u8], dense_count: u32, depth: usize) -> Result<Amf3Value, AmfError> {
        let inner = self.enter(depth)?;
        let dense_count = check_count(u64::from(dense_count), 1, input.len(), &self.limits)?;
        let assoc = self.named_values(input, inner)?;
        let mut dense = Vec::with_capacity(initial_capacity(dense_count));
        for _ in 0..dense_count {
            dense.push(self.value(input, inner)?);
        }
        Ok(Amf3Value::Array { assoc, dense })
    }

    /// An object: its traits (inline or by reference), the sealed values in trait order, then
    /// the dynamic members when the traits are dynamic.
    fn object(&mut self, input: &mut &[u8], traits_bits: u32, depth: usize) -> Result<Amf3Value, AmfError> {
        let inner = self.enter(depth)?;
        let traits = self.traits(input, traits_bits)?;
        let mut sealed = Vec::with_capacity(initial_capacity(traits.sealed_names.len()));
        for name in traits.sealed_names {
            let value = self.value(input, inner)?;
            sealed.push((name, value));
        }
        let dynamic = if traits.dynamic { Some(self.named_values(input, inner)?) } else { None };
        Ok(Amf3Value::Object { class_name: traits.class_name, sealed, dynamic })
    }

    /// The traits of an object. `bits` is the object header after the inline-object flag:
    /// bit 0 clear means a traits reference (index in the rest); otherwise bit 1 marks an
    /// externalizable class, bit 2 dynamic traits, and the rest counts the sealed members.
    fn traits(&mut self, input: &mut &[u8], bits: u32) -> Result<Traits, AmfError> {
        if bits & 1 == 0 {
            let index = bits >> 1;
            let traits = self.traits.get(to_usize(index)).ok_or(AmfError::BadReference(index))?;
            // Each sealed member still needs its value from the input.
            let sealed_count = u64::try_from(traits.sealed_names.len()).unwrap_or(u64::MAX);
            check_count(sealed_count, 1, input.len(), &self.limits)?;
            self.budget.charge_output(traits.cost())?;
            return Ok(traits.clone());
        }
        if bits & 2 != 0 {
            let class_name = self.string(input)?;
            return Err(AmfError::Externalizable(class_name));
        }
        let dynamic = bits & 4 != 0;
        let sealed_count = check_count(u64::from(bits >> 3), 1, input.len(), &self.limits)?;
        let class_name = self.string(input)?;
        let mut sealed_names = Vec::with_capacity(initial_capacity(sealed_count));
        for _ in 0..sealed_count {
            let name = self.string(input)?;
            self.budget.charge_output(NAME_COST)?;
            sealed_names.push(name);
        }
        let traits = Traits { class_name, sealed_names, dynamic };
        self.budget.charge_tables(traits.cost())?;
        self.traits.push(traits.clone());
        Ok(traits)
    }

    /// The fixed flag and checked element count shared by the vector types.
    fn vector_header(
        &mut self,
        input: &mut &[u8],
        count: u32,
        element_bytes: usize,
    ) -> Result<(bool, usize), AmfError> {
        let fixed = read_u8(input)? != 0;
        let count = check_count(u64::from(count), element_bytes, input.len(), &self.limits)?;
        self.budget.charge_output(count.saturating_mul(element_bytes))?;
        Ok((fixed, count))
    }

    /// A vector of objects: fixed flag, element type name, then the elements.
    fn vector_object(&mut self, input: &mut &[u8], count: u32, depth: usize) -> Result<Amf3Value, AmfError> {
        let inner = self.enter(depth)?;
        let fixed = read_u8(input)? != 0;
        let type_name = self.string(input)?;
        let count = check_count(u64::from(count), 1, input.len(), &self.limits)?;
        let mut items = Vec::with_capacity(initial_capacity(count));
        for _ in 0..count {
            items.push(self.value(input, inner)?);
        }
        Ok(Amf3Value::VectorObject { fixed, type_name, items })
    }

    /// A dictionary: weak-keys flag, then key-value pairs (both of any type).
    fn dictionary(&mut self, input: &mut &[u8], count: u32, depth: usize) -> Result<Amf3Value, AmfError> {
        let inner = self.enter(depth)?;
        let weak_keys = read_u8(input)? != 0;
        let count = check_count(u64::from(count), 2, input.len(), &self.limits)?;
        let mut entries = Vec::with_capacity(initial_capacity(count));
        for _ in 0..count {
            let key = self.value(input, inner)?;
            let value = self.value(input, inner)?;
            entries.push((key, value));
        }
        Ok(Amf3Value::Dictionary { weak_keys, entries })
    }
}

/// A U29 payload as an index or length (lossless: U29 values are below 2^29).
fn to_usize(value: u32) -> usize {
    usize::try_from(value).unwrap_or(usize::MAX)
}
