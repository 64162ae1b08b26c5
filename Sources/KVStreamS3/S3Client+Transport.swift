import Foundation

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

extension S3Client {
    /// What came back from the store.
    struct Response: Sendable {
        var status: Int
        var contentLength: Int?
        var body: Data

        /// S3's error code in the body, if it has one.
        var code: String? { S3XML.value(of: "Code", in: body) }

        func error(request: String, isRetryable: Bool = false) -> S3Error {
            S3Error(code: code ?? "HTTPError", message: S3XML.value(of: "Message", in: body) ?? "", status: status,
                    request: request, isRetryable: isRetryable)
        }
    }

    /// Sends one request to the bucket (`key` nil) or to an object, tries it again while it fails in a way that
    /// may pass, and returns the first response that is final, whatever its status.
    ///
    /// `errorsIn200`: the operation may answer 200 with an `<Error>` body (CopyObject does, when it fails after
    /// it started), which counts as a server error.
    func send(
        _ method: String, _ key: String?, query: [(name: String, value: String)] = [],
        headers: [(name: String, value: String)] = [], body: Data = Data(), errorsIn200: Bool = false
    ) throws(S3Error) -> Response {
        let description = "\(method) \(location(key))"
        let payloadHash = SHA256.hash(body).hex
        var delay = configuration.firstRetryDelay.seconds
        var attempt = 1
        while true {
            do throws(S3Error) {
                let request = signedRequest(method, key, query, headers, body, payloadHash)
                let response = try perform(request, description: description)
                let serverError = response.status >= 500 || response.status == 429
                    || (errorsIn200 && response.status == 200 && response.code != nil)
                guard serverError else { return response }
                throw response.error(request: description, isRetryable: true)
            } catch where error.isRetryable && attempt < configuration.maxAttempts {
                let wait = delay * Double.random(in: 0.5...1)
                logger.warning("\(error); try \(attempt + 1) of \(configuration.maxAttempts) in \(Int(wait * 1000)) ms")
                Thread.sleep(forTimeInterval: wait)
                delay = min(delay * 2, configuration.maxRetryDelay.seconds)
                attempt += 1
            }
        }
    }

    private func signedRequest(
        _ method: String, _ key: String?, _ query: [(name: String, value: String)],
        _ headers: [(name: String, value: String)], _ body: Data, _ payloadHash: String
    ) -> URLRequest {
        let path = "/" + SigV4Signer.uriEncode(configuration.bucket)
            + (key.map { "/" + SigV4Signer.uriEncode($0, keepingSlashes: true) } ?? "")
        let queryString = SigV4Signer.canonicalQuery(query)
        var request = URLRequest(url: URL(string: origin + path + (queryString.isEmpty ? "" : "?" + queryString))!)
        request.httpMethod = method
        request.timeoutInterval = configuration.requestTimeout.seconds
        if method == "PUT" || method == "POST" { request.httpBody = body }

        let timestamp = SigV4Signer.timestamp(Date())
        let signed = [("host", host), ("x-amz-content-sha256", payloadHash), ("x-amz-date", timestamp)] + headers
        for (name, value) in signed where name != "host" { request.setValue(value, forHTTPHeaderField: name) }
        let authorization = signer.authorization(
            .init(method: method, path: basePath + path, query: query, headers: signed, payloadHash: payloadHash),
            timestamp: timestamp)
        request.setValue(authorization, forHTTPHeaderField: "Authorization")
        return request
    }

    /// Runs one request on the session and blocks until it completes.
    private func perform(_ request: URLRequest, description: String) throws(S3Error) -> Response {
        let outcome = Outcome()
        let done = DispatchSemaphore(value: 0)
        session.dataTask(with: request) { data, response, error in
            if let response = response as? HTTPURLResponse {
                let length = response.value(forHTTPHeaderField: "Content-Length").flatMap { Int($0) }
                outcome.result = .success(Response(status: response.statusCode, contentLength: length,
                                                   body: data ?? Data()))
            } else {
                outcome.result = .failure(S3Error(
                    code: "ConnectionFailed", message: error?.localizedDescription ?? "no response",
                    request: description, isRetryable: true))
            }
            done.signal()
        }.resume()
        done.wait()
        return try outcome.result!.get()
    }
}

private final class Outcome: @unchecked Sendable {
    // @unchecked: written once by the task's completion handler before it signals, read after the wait.
    var result: Result<S3Client.Response, S3Error>?
}
