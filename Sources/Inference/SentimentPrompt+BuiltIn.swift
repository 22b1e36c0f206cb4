extension SentimentPrompt {
    /// The prompt the chat screen and `qwentty sentiment` use, chosen on the real Qwen2.5-Coder-0.5B-Instruct
    /// Q4_K_M file (docs/commands.md: "How the prompt was chosen"): a two-step instruction (any feeling? then which)
    /// with one-line label definitions, 24 worked examples in English and Chinese (none from the evaluation
    /// set), and +0.75 nat for Neutral, fitted on the tune half of data/sentiment-eval.tsv: a 0.5B model reads
    /// feeling into plain facts ("Python 3.12 was released in October." came out Positive).
    public static let builtIn = SentimentPrompt(
        instruction: """
            You classify the sentiment of chat messages, in English or Chinese. First ask: does the writer express a feeling? If not (a fact, a question, a request, a plan, news), the answer is Neutral. If they do, is it good or bad for them? Answer with exactly one word:
            Positive: joy, praise, thanks, relief, satisfaction, love.
            Negative: anger, complaints, disappointment, sadness, stress. Sarcasm (praising something bad, like "great, it broke again") is Negative.
            Neutral: no feeling; or good and bad that cancel out.
            """,
        request: "Classify the sentiment of this message:\n\n",
        labels: [
            Label(name: "Positive"),
            Label(name: "Negative"),
            Label(name: "Neutral", bias: 0.75),
        ],
        examples: [
            Example("The package arrived this morning.", "Neutral"),
            Example("Thanks a lot, this is perfect!", "Positive"),
            Example("Ugh, the bus is late again.", "Negative"),
            Example("我明天去北京出差。", "Neutral"),
            Example("这家餐厅太好吃了，强烈推荐！", "Positive"),
            Example("等了一个小时还没上菜，气死了。", "Negative"),
            Example("Can you send me the slides?", "Neutral"),
            Example("Great, my laptop died right before the demo.", "Negative"),
            Example("Not the fastest, but it does the job well and I'm happy.", "Positive"),
            Example("The hotel was nice but the food was awful, so it balanced out.", "Neutral"),
            Example("请把会议改到周三。", "Neutral"),
            Example("说实话，没什么可抱怨的，很满意。", "Positive"),
            Example("真是太好了，又加班到半夜。", "Negative"),
            Example("The report has twelve pages and three charts.", "Neutral"),
            Example("I finally passed my driving test!", "Positive"),
            Example("这个软件又崩溃了，烦死了。", "Negative"),
            Example("Version 2.0 ships with a new plugin system.", "Neutral"),
            Example("Wow, thanks for deleting my draft, so helpful.", "Negative"),
            Example("I didn't think I'd like the book, but I couldn't put it down.", "Positive"),
            Example("这款手机有三种颜色可选。", "Neutral"),
            Example("哇，又堵车了，今天运气真好。", "Negative"),
            Example("没想到效果这么好，超出预期！", "Positive"),
            Example("The server restarts every night at 2 am.", "Neutral"),
            Example("Nothing works and nobody cares.", "Negative"),
        ]
    )

    /// The built-in prompt without its worked examples: the instruction's label definitions only. For a
    /// model whose context the full prompt does not fit, or would take more than a quarter of
    /// (`SentimentClassifier.forChat`); its accuracy is in the README beside the full prompt's.
    public static let short = SentimentPrompt(instruction: builtIn.instruction, request: builtIn.request, labels: builtIn.labels)
}
