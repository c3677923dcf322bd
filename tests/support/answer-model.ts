// A stand-in "model" for the local OpenAI-compatible server: it answers every emoforge role with a
// schema-valid JSON value of the length a GPT-4o-class teacher writes for these prompts (MER-Caption
// style descriptions of 80-160 words, 4-6 reasoning steps, 2-4 open-set labels), built from the
// request itself (the transcript and cues in the prompt) and varied deterministically per request.
// It is for tests that need realistic token counts (the dry-run projection) and benches; it is not
// an emotion model and knows nothing the prompt does not say.
import { createHash } from 'node:crypto';

const EMOTIONS = ['happy', 'sad', 'angry', 'neutral', 'surprised', 'fearful', 'disgusted'];

const VIDEO = [
  'In the video, the speaker faces the camera with a steady gaze and the head held still.',
  'The eyebrows lift slightly at the start and the eyes stay open and attentive throughout the clip.',
  'The corners of the mouth move only a little, and the overall facial expression changes slowly.',
  'Around the middle of the clip the speaker glances down briefly before looking back at the camera.',
  'The shoulders stay relaxed and there are few hand movements, which suggests the speaker is composed.',
  'The lighting is even and the face is clearly visible in every keyframe, so the expression is easy to follow.',
];
const AUDIO = [
  'In the audio, the voice is clear with a moderate volume and a fairly even rhythm.',
  'The pitch rises at the ends of some phrases and falls at others, giving the speech a lively contour.',
  'There are short pauses between phrases, and the speaking rate is close to that of ordinary conversation.',
  'The intensity increases slightly on the stressed words, which adds emphasis without sounding strained.',
  'The tone carries a certain warmth, although the energy drops a little towards the end of the utterance.',
];
const INFERENCE = [
  'Taking the facial expression, the tone of voice and the words together, the cues mostly point the same way.',
  'Where the modalities differ, the voice and the words are weighed more heavily than the brief facial changes.',
  'Overall, the speaker seems to be expressing a clear emotional state rather than a neutral report.',
  'The consistency of the cues across the clip makes this reading fairly confident.',
];

/** A deterministic stream of numbers in [0, 1) from the request. */
function randomFrom(seed: string): () => number {
  let counter = 0;
  return () => {
    const digest = createHash('sha256').update(`${seed}:${counter++}`).digest();
    return digest.readUInt32BE(0) / 2 ** 32;
  };
}

function pick<T>(items: readonly T[], count: number, random: () => number): T[] {
  const pool = [...items];
  const out: T[] = [];
  while (out.length < count && pool.length) out.push(pool.splice(Math.floor(random() * pool.length), 1)[0]);
  return out;
}

function allText(body: any): string {
  return (body.messages as any[])
    .map((m) => (typeof m.content === 'string' ? m.content : (m.content ?? []).map((p: any) => p.text ?? '').join('\n')))
    .join('\n');
}

function transcriptOf(text: string): string {
  return /<transcript>([^<]*)<\/transcript>/.exec(text)?.[1]?.trim() ?? '';
}

function primaryOf(text: string): string {
  const given = /"primary":"(\w+)"/.exec(text)?.[1];
  if (given && EMOTIONS.includes(given)) return given;
  const face = /"dominantExpression":"(\w+)"/.exec(text)?.[1];
  return face && EMOTIONS.includes(face) ? face : 'neutral';
}

/** The JSON answer for a chat request (the role is named by the structured output, or by the prompt). */
export function realisticAnswer(body: any): unknown {
  const text = allText(body);
  const named = String(body.response_format?.json_schema?.name ?? '').replace(/^emoforge_/, '');
  const role =
    named ||
    (/step-by-step reasoning/i.test(text)
      ? 'rationale'
      : /question-answer items/i.test(text)
        ? 'qa'
        : /open-vocabulary|emotion labels/i.test(text)
          ? 'labels'
          : 'describe');
  const random = randomFrom(JSON.stringify(body.messages));
  const transcript = transcriptOf(text);
  const emotion = primaryOf(text);
  switch (role) {
    case 'describe': {
      const said = transcript
        ? `In the text, the speaker says: "${transcript}" The wording itself carries part of the feeling.`
        : 'There is no transcript, so the words cannot be used.';
      const sentences = [
        ...pick(VIDEO, 2 + Math.floor(random() * 3), random),
        ...pick(AUDIO, 2 + Math.floor(random() * 2), random),
        said,
        ...pick(INFERENCE, 1 + Math.floor(random() * 2), random),
      ];
      return { text: `${sentences.join(' ')} Therefore, the speaker most likely feels ${emotion}.` };
    }
    case 'labels': {
      const openset = pick(['calm', 'content', 'cheerful', 'tense', 'uneasy', 'reflective', 'relieved', 'frustrated'], 2 + Math.floor(random() * 3), random);
      const valence = emotion === 'happy' ? 0.6 : ['sad', 'angry', 'fearful', 'disgusted'].includes(emotion) ? -0.5 : 0;
      const sentiment = valence > 0 ? 'positive' : valence < 0 ? 'negative' : 'neutral';
      return { primary: emotion, openset: [emotion, ...openset], sentiment, valence, arousal: Math.round((random() - 0.5) * 100) / 100 };
    }
    case 'qa': {
      const set: string[] = JSON.parse(/Label set \(options must come from it\): (\[.*\])/.exec(text)?.[1] ?? '[]');
      const answer = set.includes(emotion) ? emotion : (set[0] ?? emotion);
      const options = [
        answer,
        ...pick(
          set.filter((l) => l !== answer),
          3,
          random,
        ),
      ];
      options.sort(() => random() - 0.5);
      const kinds: string[] = JSON.parse(/Kinds to write: (\[.*\])/.exec(text)?.[1] ?? '["mcq"]');
      const f0 = /"f0MeanHz":([\d.]+)/.exec(text)?.[1];
      const face = /"dominantExpression":"(\w+)"/.exec(text)?.[1];
      const items: unknown[] = [];
      if (kinds.includes('mcq'))
        items.push({
          kind: 'mcq',
          question: `Which emotion does the speaker in this clip most likely feel? Choose one of: ${options.join(', ')}.`,
          options,
          answer,
        });
      if (kinds.includes('open')) {
        items.push({
          kind: 'open',
          question: `Why does the person most likely feel ${emotion}?`,
          answer: `${pick([...VIDEO, ...AUDIO], 2, random).join(' ')} Together these cues point to ${emotion}.`,
        });
        items.push({
          kind: 'open',
          question: 'Which cue points most strongly to the emotion?',
          answer: face
            ? `The facial expression: the dominant expression is ${face}, which points most strongly to ${emotion}.`
            : `The voice: ${pick(AUDIO, 1, random)[0]}`,
        });
      }
      if (kinds.includes('attribute')) {
        if (face)
          items.push({
            kind: 'attribute',
            question: 'What facial expression does the person show?',
            answer: `The person shows a mostly ${face} facial expression across the keyframes.`,
          });
        if (f0)
          items.push({
            kind: 'attribute',
            question: "How does the person's voice sound?",
            answer: `The voice has a mean pitch of ${f0} Hz at a moderate loudness and an even pace.`,
          });
        if (transcript) items.push({ kind: 'attribute', question: 'What does the person say?', answer: `The person says: "${transcript}"` });
      }
      return { items };
    }
    case 'rationale': {
      const f0 = /"f0MeanHz":([\d.]+)/.exec(text)?.[1];
      const face = /"dominantExpression":"(\w+)"/.exec(text)?.[1];
      const steps = [
        face
          ? `The dominant facial expression across the keyframes is ${face}, which is the first visual evidence for the emotion.`
          : 'The face was not measured, so the visual channel is skipped.',
        f0
          ? `The mean pitch is ${f0} Hz, and its variation over the utterance suggests how aroused the speaker is.`
          : 'The pitch was not measured, so the acoustic channel gives limited evidence.',
        transcript
          ? `The speaker says "${transcript.split(/\s+/).slice(0, 8).join(' ')}", and the choice of words is consistent with the other cues.`
          : 'There is no transcript to check the words against.',
        ...pick(
          [
            'The loudness stays within a normal range, which argues against strong anger.',
            'The pauses are short, so the speech flows without hesitation.',
            'The visual and audio cues agree, so no conflict needs to be resolved.',
          ],
          Math.floor(random() * 3),
          random,
        ),
      ];
      const numbered = steps.map((s, i) => `Step ${i + 1}: ${s}`);
      numbered.push(`Step ${numbered.length + 1}: predicted emotion is ${emotion}`);
      return { steps: numbered, emotion };
    }
    default:
      return { text: `${pick([...VIDEO, ...AUDIO], 3, random).join(' ')}` };
  }
}
